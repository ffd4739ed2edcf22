declare module 'random-access-memory' {
  export default class RAM {
    constructor(options?: { pageSize?: number });
    read(offset: number, size: number, callback: (error: Error | null, data?: Buffer) => void): void;
    write(offset: number, data: Uint8Array, callback: (error: Error | null) => void): void;
  }
}
