/**
 * The data every contender is measured on. Generated from a fixed seed, so two runs (and
 * every contender in one run) see the same keys, the same values and the same access order.
 */

/** A realistic cached object: a support agent with nested team, schedule and metrics. */
export interface AgentRecord {
  id: string;
  externalId: number;
  name: { first: string; last: string; display: string };
  email: string;
  status: 'active' | 'away' | 'offline';
  role: string;
  team: { id: string; name: string; region: string; managerId: string };
  skills: { name: string; level: number; certified: boolean }[];
  languages: string[];
  schedule: { timezone: string; shifts: { day: string; start: string; end: string }[] };
  metrics: {
    ticketsResolved: number;
    avgHandleTimeSec: number;
    csat: number;
    backlog: number;
    lastActiveAt: string;
  };
  address: { street: string; city: string; postcode: string; country: string };
  tags: string[];
  preferences: { theme: string; notifications: { email: boolean; push: boolean; sms: boolean } };
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Number of distinct keys, all pre-populated before any measurement. */
export const KEY_COUNT = 1000;

/** mulberry32: tiny, fast, good enough to pick names and shuffle keys reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Margaret', 'Linus', 'Radia'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Hamilton'];
const ROLES = ['agent', 'senior-agent', 'team-lead', 'specialist'];
const REGIONS = ['eu-west', 'us-east', 'ap-south', 'sa-east'];
const SKILLS = ['billing', 'refunds', 'shipping', 'api', 'onboarding', 'security', 'sso', 'mobile'];
const LANGS = ['en', 'fr', 'de', 'es', 'pt', 'it', 'nl', 'ja'];
const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'America/Sao_Paulo'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const CITIES = ['Lyon', 'Boston', 'Pune', 'Porto', 'Utrecht', 'Osaka'];
const STATUSES = ['active', 'away', 'offline'] as const;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** One agent record; its JSON is about 1.1 KB (see {@link describeWorkload}). */
export function makeAgent(index: number, random: () => number): AgentRecord {
  const first = pick(random, FIRST);
  const last = pick(random, LAST);
  const base = Date.UTC(2024, 0, 1) + Math.floor(random() * 300) * 86_400_000;
  return {
    id: `agent-${String(index).padStart(5, '0')}`,
    externalId: 100_000 + index,
    name: { first, last, display: `${first} ${last}` },
    email: `${first}.${last}.${index}@support.example.com`.toLowerCase(),
    status: pick(random, STATUSES),
    role: pick(random, ROLES),
    team: {
      id: `team-${index % 37}`,
      name: `Tier ${1 + (index % 3)} ${pick(random, SKILLS)}`,
      region: pick(random, REGIONS),
      managerId: `agent-${String(index % 50).padStart(5, '0')}`,
    },
    skills: Array.from({ length: 3 }, () => ({
      name: pick(random, SKILLS),
      level: 1 + Math.floor(random() * 5),
      certified: random() < 0.5,
    })),
    languages: [pick(random, LANGS), pick(random, LANGS)],
    schedule: {
      timezone: pick(random, ZONES),
      shifts: DAYS.slice(0, 4).map((day) => ({
        day,
        start: `0${7 + Math.floor(random() * 3)}:00`,
        end: `${16 + Math.floor(random() * 3)}:30`,
      })),
    },
    metrics: {
      ticketsResolved: Math.floor(random() * 20_000),
      avgHandleTimeSec: Math.round(random() * 900 * 10) / 10,
      csat: Math.round((3 + random() * 2) * 100) / 100,
      backlog: Math.floor(random() * 40),
      lastActiveAt: new Date(base + 86_400_000 * 30).toISOString(),
    },
    address: {
      street: `${1 + Math.floor(random() * 200)} ${pick(random, LAST)} Street`,
      city: pick(random, CITIES),
      postcode: String(10_000 + Math.floor(random() * 89_999)),
      country: pick(random, ['FR', 'US', 'IN', 'PT', 'NL', 'JP']),
    },
    tags: ['vip-queue', `shift-${index % 3}`, pick(random, SKILLS), pick(random, REGIONS)],
    preferences: {
      theme: random() < 0.5 ? 'dark' : 'light',
      notifications: { email: true, push: random() < 0.7, sms: false },
    },
    createdAt: new Date(base).toISOString(),
    updatedAt: new Date(base + 86_400_000 * 7).toISOString(),
    version: 1 + Math.floor(random() * 40),
  };
}

/** The L1/L2 workload: keys, the value of each key, and fixed access orders. */
export interface Workload {
  keys: string[];
  values: AgentRecord[];
  valueByKey: Map<string, AgentRecord>;
  /** A shuffled permutation of all keys: the serial L1 loop walks it once per iteration. */
  serialOrder: string[];
  /** A long random key sequence (with repeats) that the concurrent L2 batches consume. */
  randomOrder: string[];
}

export function makeWorkload(seed = 42): Workload {
  const random = seededRandom(seed);
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `agent:${i}`);
  const values = keys.map((_, i) => makeAgent(i, random));
  const valueByKey = new Map(keys.map((key, i) => [key, values[i] as AgentRecord]));
  const serialOrder = [...keys];
  for (let i = serialOrder.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [serialOrder[i], serialOrder[j]] = [serialOrder[j] as string, serialOrder[i] as string];
  }
  const randomOrder = Array.from(
    { length: 64 * 1024 },
    () => keys[Math.floor(random() * keys.length)] as string,
  );
  return { keys, values, valueByKey, serialOrder, randomOrder };
}

/** Min / mean / max JSON length of the workload's values, for the report. */
export function describeWorkload(workload: Workload): { min: number; mean: number; max: number } {
  const lengths = workload.values.map((v) => Buffer.byteLength(JSON.stringify(v)));
  const sum = lengths.reduce((a, b) => a + b, 0);
  return { min: Math.min(...lengths), mean: sum / lengths.length, max: Math.max(...lengths) };
}

/**
 * A JSON payload of about `kib` KiB for the codec scenario: a page of agent records (a list
 * endpoint's response), or one record for 1 KiB. Real payloads repeat field names, which is
 * what makes compression pay.
 */
export function makePayload(kib: number, seed = 7): unknown {
  const random = seededRandom(seed);
  if (kib <= 1) return makeAgent(0, random);
  const target = kib * 1024;
  const items: AgentRecord[] = [];
  let size = 40;
  while (size < target) {
    const agent = makeAgent(items.length, random);
    items.push(agent);
    size += Buffer.byteLength(JSON.stringify(agent)) + 1;
  }
  return { page: 1, total: items.length, items };
}
