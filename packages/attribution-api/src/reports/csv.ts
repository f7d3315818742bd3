// RFC 4180 CSV as spreadsheets and ad platforms export it: comma-separated, fields optionally in
// double quotes (a quote inside doubled, commas and line breaks allowed), CRLF or LF line ends.

export interface CsvRecord {
  /** The line the record starts on, counting from 1 (a quoted line break makes a record span lines). */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** The records of a CSV text; blank lines are skipped. Throws CsvSyntaxError with the line at fault. */
export function parseCsv(text: string): CsvRecord[] {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < input.length) {
    const startLine = line;
    const fields: string[] = [];
    let atRecordEnd = false;
    while (!atRecordEnd) {
      let field = '';
      if (input[i] === '"') {
        i++;
        for (;;) {
          if (i >= input.length) throw new CsvSyntaxError(startLine, 'a quoted field is never closed');
          const c = input[i] as string;
          if (c === '"') {
            if (input[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const next = input[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new CsvSyntaxError(line, 'a closing quote must end its field (write a quote inside a field as "")');
        }
      } else {
        while (i < input.length && input[i] !== ',' && input[i] !== '\n' && input[i] !== '\r') {
          if (input[i] === '"') {
            throw new CsvSyntaxError(
              line,
              'a quote inside an unquoted field (quote the whole field and double the quote)',
            );
          }
          field += input[i];
          i++;
        }
      }
      fields.push(field);
      if (input[i] === ',') {
        i++;
      } else {
        // End of line or of input: \r\n, \n or a lone \r.
        if (input[i] === '\r') i++;
        if (input[i] === '\n') i++;
        line++;
        atRecordEnd = true;
      }
    }
    const blank = fields.length === 1 && (fields[0] as string).trim() === '';
    if (!blank) records.push({ line: startLine, fields });
  }
  return records;
}
