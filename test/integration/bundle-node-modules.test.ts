// build/bundle.mjs turns every `require("node:…")` of the bundle into a call of one memo by a
// text rewrite. A rewrite by pattern could also change a string or a comment that merely holds
// those bytes, or leave a require behind: the built dist/stepdown.cjs is parsed here, and every
// "node:…" in it must be the one argument of a call of the memo (or of process.getBuiltinModule,
// which src/exec/execve.ts uses directly), and the memo must be what bundle.mjs defines.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/harness.js';

/** What is wrong with the bundle's Node module loading, one line each (none when it is right). */
function nodeModuleUses(text: string): string[] {
  const file = ts.createSourceFile('stepdown.cjs', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const problems: string[] = [];
  // the first statement after "use strict": var M = {}, memo = (e) => M[e] ??= require(e)
  const first = file.statements.find((s) => !(ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression)));
  let memo: string | undefined;
  if (first && ts.isVariableStatement(first) && first.declarationList.declarations.length >= 2) {
    const [store, fn] = first.declarationList.declarations as unknown as [ts.VariableDeclaration, ts.VariableDeclaration];
    const body = fn.initializer && ts.isArrowFunction(fn.initializer) ? fn.initializer.body.getText(file).replace(/\s/g, '') : '';
    const param = fn.initializer && ts.isArrowFunction(fn.initializer) ? fn.initializer.parameters[0]?.name.getText(file) : undefined;
    const s = store.name.getText(file);
    if (store.initializer?.getText(file) === '{}' && body === `${s}[${param}]??=require(${param})`) memo = fn.name.getText(file);
  }
  if (memo === undefined) problems.push(`the bundle does not start with the memo: ${first?.getText(file).slice(0, 120)}`);
  let literals = 0;
  const visit = (node: ts.Node) => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && node.text.startsWith('node:')) {
      literals++;
      const call = node.parent;
      const callee = ts.isCallExpression(call) && call.arguments.length === 1 && call.arguments[0] === node ? call.expression.getText(file) : undefined;
      if (callee !== memo && callee !== 'process.getBuiltinModule') problems.push(`"${node.text}" is not loaded through the memo: ${call.getText(file).slice(0, 120)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // a "node:" held in a string, a template or a comment is no literal of its own
  const occurrences = text.split(/["'`]node:/).length - 1;
  if (occurrences !== literals) problems.push(`${occurrences - literals} "node:…" inside a string, template or comment`);
  return problems;
}

describe('the bundle loads Node modules through one memo (dist/stepdown.cjs)', () => {
  it('every "node:…" in the built bundle is the argument of a call of the memo; no require of one is left', () => {
    const text = fs.readFileSync(path.join(REPO, 'dist/stepdown.cjs'), 'utf8');
    expect(nodeModuleUses(text)).toEqual([]);
    expect(text).not.toMatch(/require\(\s*["'`]node:/);
    // the bundle does load Node modules, so the walk above saw them
    expect(text.split(/["'`]node:fs["'`]/).length - 1).toBeGreaterThan(1);
  });

  it('the check finds a rewritten string, a require left behind and a missing memo', () => {
    const memo = '"use strict";var t={},m=e=>t[e]??=require(e);';
    expect(nodeModuleUses(`${memo}var a=m("node:fs");`)).toEqual([]);
    expect(nodeModuleUses(`${memo}var a=m("node:fs"),b="see m(\\"node:fs\\")";`)).toEqual(['1 "node:…" inside a string, template or comment']);
    expect(nodeModuleUses(`${memo}var a=require("node:fs");`)).toEqual(['"node:fs" is not loaded through the memo: require("node:fs")']);
    expect(nodeModuleUses('"use strict";var a=require("node:fs");')[0]).toMatch(/^the bundle does not start with the memo/);
  });
});
