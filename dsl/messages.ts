// The one table of user-facing messages, keyed by stable diagnostic code.
//
// Codes never change meaning once published. E00xx: lexing and input caps; E01xx: syntax;
// E02xx: names; E03xx: arguments; E04xx: types and shapes; E05xx: control flow and bodies;
// E06xx: train blocks; E07xx: the textual IR (.ir files).

export type MessageArgs = Readonly<Record<string, string | number>>;

export interface MessageEntry {
  readonly text: (a: MessageArgs) => string;
  readonly hint?: (a: MessageArgs) => string | undefined;
}

const s = (a: MessageArgs, k: string): string => String(a[k] ?? '');

export const MESSAGES = {
  // Lexing and caps on untrusted input.
  E0001: { text: (a) => `unexpected character ${s(a, 'char')}`, hint: () => 'Sinter source uses ASCII identifiers, numbers, operators and # comments' },
  E0002: { text: () => 'unterminated string', hint: () => "close the string with '\"' on the same line" },
  E0003: { text: (a) => `file is too large (${s(a, 'size')} bytes; the limit is ${s(a, 'limit')})` },
  E0004: { text: (a) => `token is too long (${s(a, 'size')} characters; the limit is ${s(a, 'limit')})` },
  E0005: { text: (a) => `nesting is too deep (more than ${s(a, 'limit')} levels)`, hint: () => 'split the expression using named bindings' },
  E0006: { text: (a) => `invalid number '${s(a, 'text')}'`, hint: () => 'numbers must be finite, like 3, 0.5 or 1e-3' },
  E0007: { text: (a) => `file has too many tokens (${s(a, 'count')}; the limit is ${s(a, 'limit')})` },
  E0008: { text: (a) => `invalid escape '${s(a, 'escape')}' in string`, hint: () => 'strings know only the escapes \\" \\\\ and \\n' },
  E0009: { text: (a) => `too many errors; stopped after ${s(a, 'limit')}` },
  E0010: { text: (a) => `expression is too deeply nested (more than ${s(a, 'limit')} levels of operators, calls and indexing)`, hint: () => 'split the expression using named bindings' },

  // Syntax.
  E0101: { text: (a) => s(a, 'message') },

  // Names.
  E0201: { text: (a) => `unknown name '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : undefined) },
  E0202: { text: (a) => `unknown layer or function '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : undefined) },
  E0203: { text: (a) => `'${s(a, 'name')}' is already defined`, hint: (a) => `the first definition is at ${s(a, 'first')}` },
  E0204: { text: (a) => `unknown model '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : 'a train block names a model defined in the same file') },
  E0205: { text: (a) => `unknown dtype '${s(a, 'name')}'`, hint: () => 'dtypes are f32, i32 and bool' },
  E0206: { text: (a) => `no model named '${s(a, 'name')}' in this file`, hint: (a) => `models here: ${s(a, 'models')}` },
  E0207: { text: () => 'this file defines no model', hint: () => 'add `model Name(x: f32[batch, …]) -> y: f32[…] { … }`' },

  // Arguments.
  E0301: { text: (a) => `${s(a, 'callee')} is missing argument '${s(a, 'name')}'` },
  E0302: { text: (a) => `${s(a, 'callee')} takes ${s(a, 'max')} argument${a['max'] === 1 ? '' : 's'}, got ${s(a, 'got')}` },
  E0303: { text: (a) => `argument '${s(a, 'name')}' of ${s(a, 'callee')} must be ${s(a, 'expected')}, got ${s(a, 'got')}` },
  E0304: { text: (a) => `argument '${s(a, 'name')}' is given twice` },
  E0305: { text: (a) => `${s(a, 'callee')} has no argument '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : `its arguments are: ${s(a, 'params')}`) },
  E0306: { text: (a) => `invalid value for '${s(a, 'name')}': ${s(a, 'reason')}` },
  E0307: { text: (a) => `${s(a, 'what')} is not callable`, hint: () => 'only layers and functions can be applied with ( ) or |>' },
  E0308: { text: (a) => `${s(a, 'callee')} expects ${s(a, 'expected')} tensor input${a['expected'] === 1 ? '' : 's'}, got ${s(a, 'got')}` },

  // Types and shapes.
  E0401: { text: (a) => `${s(a, 'callee')} expects ${s(a, 'expected')}, got ${s(a, 'got')}` },
  E0402: { text: (a) => s(a, 'message') },
  E0403: { text: (a) => `shape variable '${s(a, 'name')}' is ${s(a, 'first')} here but ${s(a, 'second')} earlier` },
  E0404: { text: (a) => `unknown shape variable '${s(a, 'name')}'`, hint: () => 'shape variables come from input types; use a number or a variable bound there' },
  E0405: { text: (a) => `shape [${s(a, 'shape')}] is too large (limit ${s(a, 'limit')} elements)` },
  E0406: { text: (a) => `expected ${s(a, 'expected')}, got ${s(a, 'got')}` },
  E0407: { text: (a) => `${s(a, 'what')} has type ${s(a, 'got')} but is declared ${s(a, 'expected')}` },
  E0408: { text: (a) => `invalid dimension: ${s(a, 'reason')}` },
  E0409: { text: (a) => `index ${s(a, 'index')} is out of range for axis ${s(a, 'axis')} of size ${s(a, 'size')}` },

  // Control flow and bodies.
  E0501: { text: (a) => `a loop unrolls at most ${s(a, 'limit')} iterations, this one has ${s(a, 'count')}` },
  E0502: { text: (a) => `layer '${s(a, 'name')}' calls itself`, hint: () => 'layers are expanded inline; use a for loop to repeat' },
  E0503: { text: (a) => `${s(a, 'what')} has no result`, hint: () => 'end the body with an expression or a return statement' },
  E0504: { text: (a) => `return gives ${s(a, 'got')} value${a['got'] === 1 ? '' : 's'} but ${s(a, 'expected')} ${a['expected'] === 1 ? 'is' : 'are'} declared` },
  E0505: { text: () => 'param is only allowed in a layer or model body, outside loops' },
  E0506: { text: (a) => `the graph grew past ${s(a, 'limit')} nodes`, hint: () => 'reduce loop counts or model depth' },
  E0507: { text: () => 'statements after return are never run' },

  // Train blocks.
  E0601: { text: (a) => `unknown train setting '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : `settings are: ${s(a, 'known')}`) },
  E0602: { text: (a) => `train block for '${s(a, 'model')}' is missing '${s(a, 'name')}'` },
  E0603: { text: (a) => `invalid ${s(a, 'what')}: ${s(a, 'reason')}`, hint: (a) => (a['known'] ? `choose one of: ${s(a, 'known')}` : undefined) },
  E0604: { text: (a) => `train setting '${s(a, 'name')}' is given twice` },

  // The textual IR.
  E0701: { text: (a) => `unexpected character ${s(a, 'char')}`, hint: () => 'IR text uses %values, @graph names, numbers, strings and // comments' },
  E0702: { text: (a) => `invalid string: ${s(a, 'reason')}`, hint: () => 'strings are JSON strings on one line, like "model.sinter"' },
  E0703: { text: (a) => `IR text is too large (${s(a, 'size')} bytes; the limit is ${s(a, 'limit')})` },
  E0704: { text: (a) => `token is too long (${s(a, 'size')} characters; the limit is ${s(a, 'limit')})` },
  E0705: { text: (a) => `invalid number '${s(a, 'text')}': ${s(a, 'reason')}` },
  E0706: { text: (a) => `expected ${s(a, 'expected')}, got ${s(a, 'got')}` },
  E0707: { text: (a) => `unknown op '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : undefined) },
  E0708: { text: (a) => `value '%${s(a, 'name')}' is not defined`, hint: (a) => (a['suggestion'] ? `did you mean '%${s(a, 'suggestion')}'?` : 'values are defined before they are used') },
  E0709: { text: (a) => `value '%${s(a, 'name')}' is already defined`, hint: (a) => `the first definition is at ${s(a, 'first')}` },
  E0710: { text: (a) => `output '${s(a, 'name')}' is declared twice`, hint: (a) => `the first declaration is at ${s(a, 'first')}` },
  E0711: { text: (a) => `unknown dtype '${s(a, 'name')}'`, hint: () => 'dtypes are f32, i32 and bool' },
  E0712: { text: (a) => `invalid type: ${s(a, 'reason')}` },
  E0713: { text: (a) => `unknown initializer '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : `initializers are: ${s(a, 'known')}`) },
  E0714: { text: (a) => `initializer argument '${s(a, 'name')}' is given twice` },
  E0715: { text: (a) => `${s(a, 'op')} has no attribute '${s(a, 'name')}'`, hint: (a) => (a['suggestion'] ? `did you mean '${s(a, 'suggestion')}'?` : `its attributes are: ${s(a, 'known')}`) },
  E0716: { text: (a) => `${s(a, 'op')} is missing attribute '${s(a, 'name')}'`, hint: (a) => `${s(a, 'op')} takes the attributes ${s(a, 'known')}` },
  E0717: { text: (a) => `attribute '${s(a, 'name')}' is given twice` },
  E0718: { text: (a) => `attribute '${s(a, 'name')}' of ${s(a, 'op')} must be ${s(a, 'expected')}, got ${s(a, 'got')}` },
  E0719: { text: (a) => `${s(a, 'op')}: ${s(a, 'message')}` },
  E0720: { text: (a) => `'%${s(a, 'name')}' is declared ${s(a, 'declared')} but ${s(a, 'op')} gives ${s(a, 'inferred')}` },
  E0721: { text: (a) => `${s(a, 'op')} takes ${s(a, 'expected')} input${a['expected'] === 1 ? '' : 's'}, got ${s(a, 'got')}` },
  E0722: { text: (a) => `return gives ${s(a, 'got')} value${a['got'] === 1 ? '' : 's'} but ${s(a, 'expected')} output${a['expected'] === 1 ? ' is' : 's are'} declared` },
  E0723: { text: (a) => `output '${s(a, 'name')}' is declared ${s(a, 'declared')} but '${s(a, 'value')}' has type ${s(a, 'got')}` },
  E0724: { text: () => 'the graph body has no return', hint: () => 'end the body with `return %value, …`, one value per declared output' },
  E0725: { text: (a) => `the graph has more than ${s(a, 'limit')} nodes` },
  E0726: { text: (a) => `invalid loc: ${s(a, 'reason')}` },
  E0727: { text: (a) => `invalid name '${s(a, 'name')}': ${s(a, 'reason')}` },
  E0728: { text: (a) => `too many errors; stopped after ${s(a, 'limit')}` },
} satisfies Record<string, MessageEntry>;

export type Code = keyof typeof MESSAGES;
