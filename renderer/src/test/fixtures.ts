import type { SessionInfo } from '../../../shared/ipc.js';
import type { MemoryAccount, MemoryCustomer } from './memory-bridge.js';

export const AGENT_SESSION: SessionInfo = {
  user: {
    id: 'user-agent-1',
    tenantId: 'tenant-demo',
    login: 'sato',
    displayName: '佐藤 花子',
    role: 'agent',
    branch: null,
    customerLimitAuthority: 1,
    mayHandleUnregisteredCallers: true,
  },
  tenant: { id: 'tenant-demo', name: 'Demo', defaultRegion: 'JP' },
  backendUrl: 'http://127.0.0.1:1',
};

export const AGENT: MemoryAccount = { tenant: 'demo', login: 'sato', password: 'correct horse', session: AGENT_SESSION };

const base = {
  branch: null,
  assignedRepId: 'user-rep-1',
  assignedRepName: '鈴木 一郎',
  updatedAt: '2024-05-01T00:00:00Z',
};

export const YAMADA: MemoryCustomer = {
  customer: {
    ...base,
    id: 'cust-yamada',
    code: 'C-000101',
    name: '山田 太郎',
    nameKana: 'ヤマダ タロウ',
    phones: [
      { e164: '+81312345678', kind: 'landline' },
      { e164: '+819012345678', kind: 'mobile' },
    ],
    emails: ['taro.yamada@example.jp'],
    postalCode: '100-0001',
    address: '東京都千代田区千代田1-1',
    classification: 2,
    type: 'existing',
  },
  incidents: [
    {
      id: 'inc-old',
      customerId: 'cust-yamada',
      title: '請求書の再発行',
      status: 'closed',
      assigneeId: 'user-agent-1',
      assigneeName: '佐藤 花子',
      openedAt: '2024-01-10T01:00:00Z',
      closedAt: '2024-01-12T01:00:00Z',
      updatedAt: '2024-01-12T01:00:00Z',
    },
    {
      id: 'inc-new',
      customerId: 'cust-yamada',
      title: '配送の遅延',
      status: 'open',
      assigneeId: 'user-agent-1',
      assigneeName: '佐藤 花子',
      openedAt: '2024-04-20T01:00:00Z',
      closedAt: null,
      updatedAt: '2024-04-21T01:00:00Z',
    },
  ],
  contacts: [
    contact('c-new-1', 'inc-new', 'call', 'inbound', '2024-04-20T01:05:00Z', '荷物が届かないとの問い合わせ'),
    contact('c-new-2', 'inc-new', 'email', 'outbound', '2024-04-21T03:00:00Z', '配送状況をメールで連絡'),
    contact('c-old-1', 'inc-old', 'call', 'inbound', '2024-01-10T01:05:00Z', '請求書の紛失'),
  ],
};

export const YAMAMOTO: MemoryCustomer = {
  customer: {
    ...base,
    id: 'cust-yamamoto',
    code: 'C-000102',
    name: '山本 商事株式会社',
    nameKana: 'ヤマモト ショウジ',
    phones: [{ e164: '+81664561234', kind: 'landline' }],
    emails: [],
    postalCode: '530-0001',
    address: '大阪府大阪市北区梅田1-1',
    classification: 3,
    type: 'dealer',
  },
  incidents: [],
  contacts: [],
};

export const SMITH: MemoryCustomer = {
  customer: {
    ...base,
    id: 'cust-smith',
    code: 'C-000201',
    name: 'Jane Smith',
    nameKana: '',
    phones: [{ e164: '+14155550123', kind: 'mobile' }],
    emails: ['jane@example.com'],
    postalCode: '',
    address: '',
    classification: 1,
    type: 'prospect',
    assignedRepId: null,
    assignedRepName: null,
  },
  incidents: [],
  contacts: [],
};

function contact(
  id: string,
  incidentId: string,
  kind: 'call' | 'email',
  direction: 'inbound' | 'outbound',
  occurredAt: string,
  summary: string,
): MemoryCustomer['contacts'][number] {
  return {
    id,
    incidentId,
    customerId: 'cust-yamada',
    kind,
    direction,
    occurredAt,
    agentId: 'user-agent-1',
    agentName: '佐藤 花子',
    summary,
    body: summary,
    callMeta: null,
  };
}
