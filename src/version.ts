/** cdl's version; a test keeps it equal to package.json's. */
export const CDL_VERSION = '0.1.0';
