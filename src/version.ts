/** cdl's version; a test keeps it equal to package.json's (scripts/release.mjs writes both). */
export const CDL_VERSION = '0.1.0';

/**
 * Where cdl is published from (owner/name on GitHub): package.json `repository`, which a test keeps
 * equal to this. Every reference to cdl's own actions and callable workflows names it.
 */
export const CDL_REPOSITORY = 'cdl/cdl';
