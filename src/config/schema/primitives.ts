/** Number types shared by the sections of cdl.yaml's schema. */
import { z } from 'zod';

const posIntMsg = { error: 'expected a positive integer' };
const nonNegIntMsg = { error: 'expected an integer >= 0' };
export const positiveInt = z.number(posIntMsg).int(posIntMsg).positive(posIntMsg);
export const nonNegativeInt = z.number(nonNegIntMsg).int(nonNegIntMsg).nonnegative(nonNegIntMsg);
