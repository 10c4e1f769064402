import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServerNotFoundError, ServerStartError } from './errors.js';

const execFileAsync = promisify(execFile);

/** PEMs of a throwaway CA and of a server and a client certificate it signed. */
export interface TlsFiles {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', [...args], { cwd });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ServerNotFoundError(
        'openssl not found on PATH (needed for a TLS test server). Install it: ' +
          '`apt-get install -y openssl` (Debian/Ubuntu) or `brew install openssl` (macOS)',
        { cause: error },
      );
    }
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new ServerStartError(`openssl ${args[0]} failed: ${stderr}`, { cause: error });
  }
}

/**
 * Makes a CA (valid 2 days) and a server certificate for 127.0.0.1/localhost and a client
 * certificate, with `openssl` in a scratch directory under `parent` that is removed after.
 * EC P-256 keys: quick to generate, so every TLS test can have its own CA.
 */
export async function makeTlsFiles(parent: string): Promise<TlsFiles> {
  const dir = await mkdtemp(join(parent, 'tls-gen-'));
  try {
    await openssl(
      [
        'req',
        '-x509',
        ...KEY,
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '2',
        '-subj',
        '/CN=tiercache test CA',
      ],
      dir,
    );
    const sign = async (name: string, extensions: string) => {
      await writeFile(join(dir, `${name}.ext`), extensions);
      await openssl(
        ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
        dir,
      );
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          `${name}.crt`,
          '-days',
          '2',
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
    };
    await sign(
      'server',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await sign('client', 'extendedKeyUsage=clientAuth\n');
    const read = (file: string) => readFile(join(dir, file), 'utf8');
    const [ca, serverCert, serverKey, clientCert, clientKey] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key'].map(read),
    );
    return {
      ca: ca!,
      serverCert: serverCert!,
      serverKey: serverKey!,
      clientCert: clientCert!,
      clientKey: clientKey!,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
