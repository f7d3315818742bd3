import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, parseCsv } from '../../../src/reports/csv.ts';

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

describe('CSV', () => {
  it('splits fields and records, LF, CRLF or CR', () => {
    expect(fields('a,b,c\n1,2,3')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(fields('a,b\r\n1,2\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a,b\r1,2\r')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a,,\n,b,')).toEqual([
      ['a', '', ''],
      ['', 'b', ''],
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(fields('"a,b","say ""hi""","two\nlines",""\n')).toEqual([['a,b', 'say "hi"', 'two\nlines', '']]);
  });

  it('drops a byte-order mark and blank lines, and numbers records by the line they start on', () => {
    const records = parseCsv('\uFEFFh1,h2\n\n"x\ny",1\n  \n2,3\n');
    expect(records).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 3, fields: ['x\ny', '1'] },
      { line: 6, fields: ['2', '3'] },
    ]);
  });

  it('names the line of a syntax error', () => {
    const fault = (text: string) => {
      try {
        parseCsv(text);
      } catch (err) {
        if (err instanceof CsvSyntaxError) return [err.line, err.message];
      }
      return undefined;
    };
    expect(fault('a,b\n"open,1\n2,3')).toEqual([2, expect.stringMatching(/never closed/)]);
    expect(fault('a,b\n1,"x"y\n')).toEqual([2, expect.stringMatching(/closing quote/)]);
    expect(fault('a,b\n1,2\n3,x"y\n')).toEqual([3, expect.stringMatching(/quote inside an unquoted field/)]);
    expect(fault('"a\nb"x,1')).toEqual([2, expect.stringMatching(/closing quote/)]);
  });
});
