/**
 * Placeholder entry point. Nothing of the JS runtime that generated glue imports is implemented yet;
 * this module exists so the workspace builds and links end to end.
 */
export const version = '0.0.0'
