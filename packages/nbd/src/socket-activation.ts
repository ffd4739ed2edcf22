/**
 * The listening sockets passed by systemd-style socket activation (LISTEN_PID = our pid,
 * LISTEN_FDS = n → fds 3 … 3 + n − 1), as libnbd's `[ CMD ]` and systemd pass them; empty when
 * none were. Serve them with `server.listen({ fd })`.
 */
export function inheritedSocketFds(env: NodeJS.ProcessEnv = process.env): number[] {
  if (env.LISTEN_PID !== String(process.pid)) return [];
  const count = Number(env.LISTEN_FDS);
  if (!Number.isSafeInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => 3 + i);
}
