/** `cdl deploy`: deploy a released version (the handler lives beside `cdl models`). */
export { deployCommand } from './models.js';
