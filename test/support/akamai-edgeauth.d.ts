/** Types of akamai-edgeauth 0.2.0 (Akamai's EdgeAuth token generator for Node; it ships none), as the tests use it. */
declare module 'akamai-edgeauth' {
  interface EdgeAuthOptions {
    /** Hex key. */
    key: string;
    algorithm?: 'sha256' | 'sha1' | 'md5';
    salt?: string;
    startTime?: number | 'now';
    endTime?: number;
    windowSeconds?: number;
    ip?: string;
    sessionId?: string;
    payload?: string;
    escapeEarly?: boolean;
    fieldDelimiter?: string;
    aclDelimiter?: string;
    tokenName?: string;
  }
  export default class EdgeAuth {
    constructor(options: EdgeAuthOptions);
    generateACLToken(acl: string | string[]): string;
    generateURLToken(url: string): string;
  }
}
