export { compileExpression } from './compile.js';
export type { CompileOptions } from './compile.js';
export type {
  CompiledExpression,
  EvalReport,
  EvalSink,
  EvalVariables,
  ExpressionEnv,
} from './types.js';
