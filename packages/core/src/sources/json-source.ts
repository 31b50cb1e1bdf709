import type { SourceSpec } from '../mapping/model.js';
import type { OpenedSource } from './source.js';
import type { InputFile } from './types.js';
export async function openJsonSource(_spec: SourceSpec, _inputs: readonly InputFile[]): Promise<OpenedSource> { throw new Error('todo'); }
