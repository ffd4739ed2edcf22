/**
 * What an fmap device should hold, unit by unit (a unit is one BlockFile block): the content of
 * every mapped unit, and for crashes the last committed state plus every content a unit held in
 * place since (the only newer data a crash may show).
 */
export class UnitModel {
  readonly unitBytes: number;
  readonly sectorSize: number;
  sizeSectors: number;
  units = new Map<number, Uint8Array>();
  committed: { sizeSectors: number; units: Map<number, Uint8Array> };
  /** Units mapped at the last commit that still sit in the block they had then. */
  #inPlace = new Set<number>();
  /** Contents such units held since the last commit. */
  #since = new Map<number, Uint8Array[]>();

  constructor(unitBytes: number, sectorSize: number, sizeSectors: number) {
    this.unitBytes = unitBytes;
    this.sectorSize = sectorSize;
    this.sizeSectors = sizeSectors;
    this.committed = { sizeSectors, units: new Map() };
  }

  get bytes(): number {
    return this.sizeSectors * this.sectorSize;
  }

  #touched(unit: number): void {
    if (this.#inPlace.has(unit)) this.#since.get(unit)!.push(this.units.get(unit)!.slice());
  }

  write(sector: number, data: Uint8Array): void {
    const start = sector * this.sectorSize;
    for (let done = 0; done < data.length;) {
      const unit = Math.floor((start + done) / this.unitBytes);
      const within = start + done - unit * this.unitBytes;
      const n = Math.min(this.unitBytes - within, data.length - done);
      let content = this.units.get(unit);
      if (!content) {
        content = new Uint8Array(this.unitBytes);
        this.units.set(unit, content);
      }
      content.set(data.subarray(done, done + n), within);
      this.#touched(unit);
      done += n;
    }
  }

  /** discard and writeZeroes: units covered whole (up to the device's end) are unmapped, the rest zeroed. */
  zero(sector: number, count: number): void {
    const start = sector * this.sectorSize;
    const end = (sector + count) * this.sectorSize;
    const u = this.unitBytes;
    for (let unit = Math.floor(start / u); unit * u < end; unit++) {
      const from = Math.max(start, unit * u);
      const to = Math.min(end, (unit + 1) * u);
      if (from === unit * u && to >= Math.min((unit + 1) * u, this.bytes)) {
        this.units.delete(unit);
        this.#inPlace.delete(unit);
      } else {
        const content = this.units.get(unit);
        if (!content) continue;
        content.fill(0, from - unit * u, to - unit * u);
        this.#touched(unit);
      }
    }
  }

  resize(sizeSectors: number): void {
    const bytes = sizeSectors * this.sectorSize;
    if (sizeSectors < this.sizeSectors) {
      const keep = Math.ceil(bytes / this.unitBytes);
      for (const unit of [...this.units.keys()]) {
        if (unit < keep) continue;
        this.units.delete(unit);
        this.#inPlace.delete(unit);
      }
      const tail = bytes % this.unitBytes;
      const last = this.units.get(keep - 1);
      if (tail !== 0 && last) {
        last.fill(0, tail);
        this.#touched(keep - 1);
      }
    }
    this.sizeSectors = sizeSectors;
  }

  commit(): void {
    this.committed = { sizeSectors: this.sizeSectors, units: cloneUnits(this.units) };
    this.#inPlace = new Set(this.units.keys());
    this.#since = new Map([...this.units.keys()].map((unit) => [unit, []]));
  }

  /** After a crash the device holds the committed state again (as far as this model knows). */
  recover(): void {
    this.sizeSectors = this.committed.sizeSectors;
    this.units = cloneUnits(this.committed.units);
    this.commit();
  }

  /** Contents a unit may show after a crash: the committed one, then what it held in place since. */
  allowedAfterCrash(unit: number): Uint8Array[] {
    const committed = this.committed.units.get(unit);
    if (!committed) return [];
    return [committed, ...(this.#since.get(unit) ?? [])];
  }

  /** The expected bytes of `count` sectors from `sector`. */
  expected(sector: number, count: number): Uint8Array {
    const out = new Uint8Array(count * this.sectorSize);
    const start = sector * this.sectorSize;
    for (let done = 0; done < out.length;) {
      const unit = Math.floor((start + done) / this.unitBytes);
      const within = start + done - unit * this.unitBytes;
      const n = Math.min(this.unitBytes - within, out.length - done);
      const content = this.units.get(unit);
      if (content) out.set(content.subarray(within, within + n), done);
      done += n;
    }
    return out;
  }

  /** What seekMapped / seekUnmapped must answer: unit boundaries from the map. */
  seek(sector: number, mapped: boolean): number {
    if (sector >= this.sizeSectors) return this.sizeSectors;
    const perUnit = this.unitBytes / this.sectorSize;
    let unit = Math.floor(sector / perUnit);
    if (mapped) {
      const after = [...this.units.keys()].filter((u) => u >= unit);
      if (after.length === 0) return this.sizeSectors;
      unit = Math.min(...after);
    } else {
      while (this.units.has(unit)) unit++;
    }
    return Math.min(this.sizeSectors, Math.max(sector, unit * perUnit));
  }
}

function cloneUnits(units: Map<number, Uint8Array>): Map<number, Uint8Array> {
  return new Map([...units].map(([unit, content]) => [unit, content.slice()]));
}
