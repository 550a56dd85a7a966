/** The slice of @nxtedition/rocksdb (an abstract-level store) the detector uses. */
declare module '@nxtedition/rocksdb' {
  export class RocksLevel {
    constructor(location: string, options?: Record<string, unknown>);
    open(options?: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
    get(key: string): Promise<string | undefined>;
    batch(
      ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }>,
      options?: { sync?: boolean },
    ): Promise<void>;
    iterator(options: { gte?: string; lt?: string }): AsyncIterable<[string, string]>;
    clear(options: { gte?: string; lt?: string }): Promise<void>;
    getProperty(property: string): string;
  }
}
