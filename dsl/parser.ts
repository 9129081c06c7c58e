// The Sinter grammar: a pure chevrotain CstParser (no semantics; dsl/to-ast.ts builds the AST).
//
// program      := item*
// item         := layerDecl | modelDecl | trainDecl
// layerDecl    := 'layer' Name configParams tensorParams ('->' typeExpr)? block
// configParams := '(' (configParam (',' configParam)*)? ')'
// configParam  := Name ('=' expression)?
// tensorParams := '(' tensorParam (',' tensorParam)* ')'
// tensorParam  := Name ':' typeExpr
// modelDecl    := 'model' Name tensorParams '->' modelOutputs block
// modelOutputs := tensorParam | '(' tensorParam (',' tensorParam)* ')'
// trainDecl    := 'train' Name '{' Sep* (trainField (Sep+ trainField?)*)? '}'
// trainField   := Name '=' expression
// typeExpr     := Name? '[' (expression (',' expression)*)? ']'
// block        := '{' Sep* (statement (Sep+ statement?)*)? '}'
// statement    := paramStmt | forStmt | returnStmt | letStmt | exprStmt
// paramStmt    := 'param' Name ':' typeExpr ('=' expression)?
// forStmt      := 'for' Name 'in' expression '..' expression block
// returnStmt   := 'return' expression (',' expression)*
// letStmt      := Name '=' expression
// exprStmt     := expression
// expression   := additive ('|>' additive)*                     left-assoc, lowest precedence
// additive     := multiplicative (('+' | '-') multiplicative)*
// multiplicative := unary (('*' | '/' | '@') unary)*
// unary        := '-'* postfix
// postfix      := primary (callSuffix | indexSuffix)*
// callSuffix   := '(' (arg (',' arg)*)? ')'
// arg          := Name ':' expression | expression
// indexSuffix  := '[' indexItem (',' indexItem)* ']'
// indexItem    := ':' expression? | expression (':' expression?)?
// primary      := Number | String | Name | '(' expression ')' | listExpr
// listExpr     := '[' (expression (',' expression)*)? ']'
//
// Sep is a newline or ';'. Which newlines reach the parser is decided by the layout pass in
// dsl/lexer.ts (none inside ( ) and [ ], none between items, none after an operator or before
// a line that starts with '|>'), so the grammar stays LL(2). Keywords: layer model train param
// for return, and 'in', which is a keyword only after a for loop's variable and a Name
// elsewhere (`x: [n, in]`). Statement-level rules end at a Sep or '}', which is where
// chevrotain's re-sync recovery resumes after a broken statement; items resume at the next
// item keyword.

import { CstParser, EOF, tokenMatcher, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import {
  allTokens, Arrow, At, Colon, Comma, DotDot, Equals, For, Identifier, In, Layer, LBrace, LBracket, LParen, Minus, Model,
  NumberLit, Param, Pipe, Plus, RBrace, RBracket, Return, RParen, Sep, Slash, Star, StringLit, Train,
} from './lexer.js';

/** How a token changes the bracket depth while recovery skips input. */
function depthChange(t: IToken): number {
  const type = t.tokenType;
  if (type === LParen || type === LBracket || type === LBrace) return 1;
  if (type === RParen || type === RBracket || type === RBrace) return -1;
  return 0;
}

export class SinterParser extends CstParser {
  constructor(errorMessageProvider: IParserErrorMessageProvider) {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 2, nodeLocationTracking: 'full', errorMessageProvider });
    this.performSelfAnalysis();
  }

  // Chevrotain's re-sync recovery skips to the first token that may follow a rule on the stack.
  // These two overrides of its (unexported) Recoverable methods make it skip bracketed groups
  // whole: after `for t in 3 {`, recovery resumes after the loop's '}', not inside its body
  // (where the body's '}' would then close the enclosing block and derail everything after).

  /** The first token, outside brackets opened after the error, that may follow a rule on the stack. */
  findReSyncTokenType(): TokenType {
    const follows = (this as unknown as { flattenFollowSet(): TokenType[] }).flattenFollowSet();
    let depth = 0;
    for (let k = 1; ; k++) {
      const t = this.LA(k);
      if (t.tokenType === EOF) return EOF;
      if (depth === 0) {
        const match = follows.find((f) => tokenMatcher(t, f));
        if (match !== undefined) return match;
      }
      depth = Math.max(0, depth + depthChange(t));
    }
  }

  /** Skips to the token that findReSyncTokenType found; returns the skipped tokens. */
  reSyncTo(type: TokenType): IToken[] {
    const skipped: IToken[] = [];
    let depth = 0;
    let next = this.LA(1);
    while (next.tokenType !== EOF && !(depth === 0 && tokenMatcher(next, type))) {
      depth = Math.max(0, depth + depthChange(next));
      skipped.push(next);
      next = this.SKIP_TOKEN();
    }
    return skipped;
  }

  readonly program = this.RULE('program', () => {
    this.MANY(() => this.SUBRULE(this.item));
  });

  readonly item = this.RULE('item', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.layerDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
    ]);
  });

  readonly layerDecl = this.RULE('layerDecl', () => {
    this.CONSUME(Layer);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.SUBRULE(this.configParams);
    this.SUBRULE(this.tensorParams);
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.typeExpr);
    });
    this.SUBRULE(this.block);
  });

  readonly configParams = this.RULE('configParams', () => {
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.configParam) });
    this.CONSUME(RParen);
  });

  readonly configParam = this.RULE('configParam', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expression, { LABEL: 'default' });
    });
  });

  readonly tensorParams = this.RULE('tensorParams', () => {
    this.CONSUME(LParen);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.tensorParam) });
    this.CONSUME(RParen);
  });

  readonly tensorParam = this.RULE('tensorParam', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.typeExpr);
  });

  readonly modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.SUBRULE(this.tensorParams);
    this.CONSUME(Arrow);
    this.SUBRULE(this.modelOutputs);
    this.SUBRULE(this.block);
  });

  readonly modelOutputs = this.RULE('modelOutputs', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.tensorParam) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE2(this.tensorParam) });
          this.CONSUME(RParen);
        },
      },
    ]);
  });

  readonly trainDecl = this.RULE('trainDecl', () => {
    this.CONSUME(Train);
    this.CONSUME(Identifier, { LABEL: 'model' });
    this.CONSUME(LBrace);
    this.MANY(() => this.CONSUME(Sep));
    this.OPTION(() => {
      this.SUBRULE(this.trainField);
      this.MANY2(() => {
        this.AT_LEAST_ONE(() => this.CONSUME2(Sep));
        this.OPTION2(() => this.SUBRULE2(this.trainField));
      });
    });
    this.CONSUME(RBrace);
  });

  readonly trainField = this.RULE('trainField', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  readonly typeExpr = this.RULE('typeExpr', () => {
    this.OPTION(() => this.CONSUME(Identifier, { LABEL: 'dtype' }));
    this.CONSUME(LBracket);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.expression, { LABEL: 'dims' }) });
    this.CONSUME(RBracket);
  });

  readonly block = this.RULE('block', () => {
    this.CONSUME(LBrace);
    this.MANY(() => this.CONSUME(Sep));
    this.OPTION(() => {
      this.SUBRULE(this.statement);
      this.MANY2(() => {
        this.AT_LEAST_ONE(() => this.CONSUME2(Sep));
        this.OPTION2(() => this.SUBRULE2(this.statement));
      });
    });
    this.CONSUME(RBrace);
  });

  readonly statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.paramStmt) },
      { ALT: () => this.SUBRULE(this.forStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.exprStmt) },
    ]);
  });

  readonly paramStmt = this.RULE('paramStmt', () => {
    this.CONSUME(Param);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.typeExpr);
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expression, { LABEL: 'init' });
    });
  });

  readonly forStmt = this.RULE('forStmt', () => {
    this.CONSUME(For);
    this.CONSUME(Identifier, { LABEL: 'variable' });
    this.CONSUME(In);
    this.SUBRULE(this.expression, { LABEL: 'from' });
    this.CONSUME(DotDot);
    this.SUBRULE2(this.expression, { LABEL: 'to' });
    this.SUBRULE(this.block);
  });

  readonly returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(Return);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.expression, { LABEL: 'values' }) });
  });

  readonly letStmt = this.RULE('letStmt', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  readonly exprStmt = this.RULE('exprStmt', () => {
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  readonly expression = this.RULE('expression', () => {
    this.SUBRULE(this.additive, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(Pipe, { LABEL: 'operators' });
      this.SUBRULE2(this.additive, { LABEL: 'operands' });
    });
  });

  readonly additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: 'operators' }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: 'operators' }) },
      ]);
      this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
    });
  });

  readonly multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Star, { LABEL: 'operators' }) },
        { ALT: () => this.CONSUME(Slash, { LABEL: 'operators' }) },
        { ALT: () => this.CONSUME(At, { LABEL: 'operators' }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  readonly unary = this.RULE('unary', () => {
    this.MANY(() => this.CONSUME(Minus, { LABEL: 'operators' }));
    this.SUBRULE(this.postfix, { LABEL: 'operand' });
  });

  readonly postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.callSuffix, { LABEL: 'suffixes' }) },
        { ALT: () => this.SUBRULE(this.indexSuffix, { LABEL: 'suffixes' }) },
      ]);
    });
  });

  readonly callSuffix = this.RULE('callSuffix', () => {
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.arg) });
    this.CONSUME(RParen);
  });

  readonly arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(Identifier, { LABEL: 'name' });
      this.CONSUME(Colon);
    });
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  readonly indexSuffix = this.RULE('indexSuffix', () => {
    this.CONSUME(LBracket);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.indexItem) });
    this.CONSUME(RBracket);
  });

  readonly indexItem = this.RULE('indexItem', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Colon);
          this.OPTION(() => this.SUBRULE(this.expression, { LABEL: 'to' }));
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.expression, { LABEL: 'from' });
          this.OPTION2(() => {
            this.CONSUME2(Colon);
            this.OPTION3(() => this.SUBRULE3(this.expression, { LABEL: 'to' }));
          });
        },
      },
    ]);
  });

  readonly primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(StringLit) },
      { ALT: () => this.CONSUME(Identifier) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.listExpr) },
    ]);
  });

  readonly parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(RParen);
  });

  readonly listExpr = this.RULE('listExpr', () => {
    this.CONSUME(LBracket);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.expression, { LABEL: 'items' }) });
    this.CONSUME(RBracket);
  });
}
