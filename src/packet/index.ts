// The packet core's public surface, for the daemon and the tests.
export { ActionMode, InsertMode, type MssAction } from './action.js';
export { Direction, type DirectionMask } from './direction.js';
export { Outcome, OUTCOME_COUNT, isChange, outcomeNames, type OutcomeCode } from './outcome.js';
export { PacketInfo } from './packet-info.js';
export { parsePacket } from './parse.js';
export { RewriteResult, insertedMss, mssTarget, rewriteMss } from './rewrite.js';
