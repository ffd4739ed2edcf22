/** One node of the map in memory: a leaf holds data block offsets, an inner node its children. */
export interface MapNode {
  readonly level: number;
  /** First unit the node covers. */
  readonly first: number;
  /** Its block as last written (0: never written); committed once the next BlockFile flush is. */
  disk: number;
  /** Changed since it was last written. */
  dirty: boolean;
  /** Mapped units below it. */
  mapped: number;
  readonly blocks: Float64Array | undefined;
  readonly children: (MapNode | undefined)[] | undefined;
}

/** Levels a map needs for `units` units: the root alone (a leaf) up to `fanout` units. */
export function mapHeight(units: number, fanout: number): number {
  let height = 1;
  for (let capacity = fanout; capacity < units; capacity *= fanout) height++;
  return height;
}

export function newNode(level: number, first: number, fanout: number): MapNode {
  return {
    level,
    first,
    disk: 0,
    dirty: true,
    mapped: 0,
    blocks: level === 0 ? new Float64Array(fanout) : undefined,
    children: level === 0 ? undefined : new Array<MapNode | undefined>(fanout),
  };
}
