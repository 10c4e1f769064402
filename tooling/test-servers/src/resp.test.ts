import { describe, expect, it } from 'vitest';
import { decodeReply, encodeCommand, parseInfo, RespError } from './resp.js';

describe('encodeCommand', () => {
  it('encodes arguments as bulk strings, counting bytes', () => {
    expect(encodeCommand(['SET', 'k', 'é'])).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n');
  });
});

describe('decodeReply', () => {
  const decode = (text: string) => decodeReply(Buffer.from(text));

  it('decodes simple strings, errors, integers and nulls', () => {
    expect(decode('+PONG\r\n')).toEqual({ value: 'PONG', next: 7 });
    expect(decode('-NOAUTH no\r\n')?.value).toEqual(new RespError('NOAUTH no'));
    expect(decode(':42\r\n')?.value).toBe(42);
    expect(decode('$-1\r\n')?.value).toBeNull();
  });

  it('decodes bulk strings that contain CRLF', () => {
    expect(decode('$4\r\na\r\nb\r\n')?.value).toBe('a\r\nb');
  });

  it('decodes nested arrays', () => {
    expect(decode('*2\r\n*1\r\n:1\r\n$1\r\nx\r\n')?.value).toEqual([[1], 'x']);
  });

  it('returns undefined until the whole reply has arrived', () => {
    expect(decode('$5\r\nhel')).toBeUndefined();
    expect(decode('*2\r\n:1\r\n')).toBeUndefined();
    expect(decode('+PO')).toBeUndefined();
  });
});

describe('parseInfo', () => {
  it('reads field:value lines and skips sections', () => {
    const fields = parseInfo('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n');

    expect(fields.get('role')).toBe('master');
    expect(fields.get('connected_slaves')).toBe('0');
    expect(fields.size).toBe(2);
  });
});
