/** Types of cli/bundle.js (plain JavaScript: the launcher imports it before tsx can run). */
export declare const ROOT: string;
export declare function bundled(
  name: string,
  entry: string,
  packages?: 'bundle' | 'external',
): Promise<{ module: Record<string, unknown>; url: string }>;
