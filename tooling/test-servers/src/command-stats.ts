import type { RedisServer } from './redis-server.js';
import { RespError, sendCommands } from './resp.js';

/** Commands a measurement leaves out: our own (`CONFIG RESETSTAT`, `ACL ...`) and AUTH. */
const OWN = new Set(['config|resetstat', 'auth', 'hello', 'acl|setuser', 'acl|log', 'acl|deluser']);

/** `CONFIG RESETSTAT`: zeroes `INFO commandstats` before a measurement. */
export async function resetCommandStats(server: RedisServer): Promise<void> {
  const [reply] = await sendCommands(server.options(), [['CONFIG', 'RESETSTAT']]);
  if (reply instanceof RespError) throw new Error(`CONFIG RESETSTAT: ${reply.message}`);
}

/**
 * Every command the server ran since {@link resetCommandStats}, sorted, named as ACL rules
 * name them (`get`, `client|setname`); commands run by Lua scripts count too. Used to derive
 * and check the minimal ACL command list of each package.
 */
export async function commandsUsed(server: RedisServer): Promise<string[]> {
  const [reply] = await sendCommands(server.options(), [['INFO', 'commandstats']]);
  if (typeof reply !== 'string') throw new Error(`INFO commandstats: ${JSON.stringify(reply)}`);
  return [...reply.matchAll(/^cmdstat_([^:]+):calls=\d+/gm)]
    .map((m) => m[1] ?? '')
    .filter((c) => c !== '' && !OWN.has(c))
    .sort();
}

/**
 * `ACL SETUSER <name> reset on ><password> <rules…>` on a running server (as the admin of
 * {@link RedisServer.options}); `rules` is space-separated.
 */
export async function setAclUser(
  server: RedisServer,
  user: { name: string; password: string; rules: string },
): Promise<void> {
  const rules = user.rules.split(/\s+/).filter((r) => r !== '');
  const [reply] = await sendCommands(server.options(), [
    ['ACL', 'SETUSER', user.name, 'reset', 'on', `>${user.password}`, ...rules],
  ]);
  if (reply instanceof RespError) throw new Error(`ACL SETUSER ${user.name}: ${reply.message}`);
}

/** The commands `ACL LOG` recorded as denied (by user), to say what an ACL is missing. */
export async function aclDenials(server: RedisServer): Promise<string[]> {
  const [reply] = await sendCommands(server.options(), [['ACL', 'LOG']]);
  if (!Array.isArray(reply)) return [];
  return reply.map((entry) => {
    const fields = Array.isArray(entry) ? entry : [];
    const field = (name: string) => String(fields[fields.indexOf(name) + 1] ?? '');
    return `${field('username')}:${field('reason')}:${field('object')}`;
  });
}
