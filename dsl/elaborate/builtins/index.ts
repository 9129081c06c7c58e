// All built-in layers and functions, by name.

import type { BuiltinDef } from '../builtin.js';
import { ACTIVATION_BUILTINS } from './activations.js';
import { LAYER_BUILTINS } from './layers.js';
import { TENSOR_BUILTINS } from './tensor.js';

export const BUILTINS: ReadonlyMap<string, BuiltinDef> = new Map(
  [...ACTIVATION_BUILTINS, ...LAYER_BUILTINS, ...TENSOR_BUILTINS].map((b) => [b.name, b]),
);
