import { act, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { DerivedAttributes } from '../../../shared/domain.js';
import '../i18n/index.js';
import { useUiStore } from '../stores/ui.js';
import { registerRendererCleanup } from '../test/harness.js';
import { DerivedAttributesSection } from './DerivedAttributes.js';

registerRendererCleanup();

const derived: DerivedAttributes = {
  computedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
  lastContactAt: { call: '2026-10-16T06:00:00.000Z', email: '2026-10-20T10:00:00.000Z', order: '2026-11-01T03:00:00.000Z' },
  contactCounts: { call: 4, email: 1, order: 1 },
  preferredChannel: 'call',
  preferredDayPart: 'morning',
  productsOfInterest: [
    { productId: '30000000-0000-4000-8000-000000000001', title: '投資信託 A', score: 10, ordered: true },
    { productId: '30000000-0000-4000-8000-000000000002', title: '債券 B', score: 1, ordered: false },
  ],
  promotion: { from: 'prospect', to: 'existing', at: '2026-11-01T03:00:00.000Z' },
};

describe('derived attributes in the customer panel', () => {
  it('shows what was learned and when it was computed, in English', () => {
    act(() => useUiStore.getState().setLanguage('en'));
    render(<DerivedAttributesSection derived={derived} />);
    const section = screen.getByRole('region', { name: 'Learned from the contact log' });
    expect(within(section).getByTestId('derived-computed').textContent).toBe('Computed 5 minutes ago');
    expect(within(section).getByTestId('derived-last-call').textContent).toMatch(/^Call: .*2026.*\(4 contacts\)$/);
    expect(within(section).getByTestId('derived-last-email').textContent).toContain('(1 contact)');
    expect(within(section).getByTestId('derived-last-order').textContent).toMatch(/^Web order: /);
    expect(within(section).queryByTestId('derived-last-web')).toBeNull();
    expect(within(section).getByTestId('derived-preferred-channel').textContent).toBe('Call');
    expect(within(section).getByTestId('derived-preferred-day-part').textContent).toBe('Morning (6–12)');
    const products = within(within(section).getByTestId('derived-products')).getAllByRole('listitem');
    expect(products.map((item) => item.textContent)).toEqual(['投資信託 A (ordered, interest 10)', '債券 B (interest 1)']);
    expect(within(section).getByTestId('derived-promotion').textContent).toMatch(/^Became Existing \(was Prospect\) with the first order on /);
  });

  it('speaks Japanese, and says when nothing is known yet', () => {
    act(() => useUiStore.getState().setLanguage('ja'));
    render(<DerivedAttributesSection derived={{ ...derived, lastContactAt: {}, contactCounts: {}, preferredChannel: null, preferredDayPart: null, productsOfInterest: [], promotion: null }} />);
    const section = screen.getByRole('region', { name: '応対履歴からわかったこと' });
    expect(within(section).getByTestId('derived-computed').textContent).toBe('5 分前に算出');
    expect(section.textContent).toContain('まだ接触はありません');
    expect(within(section).getByTestId('derived-preferred-channel').textContent).toBe('まだわかりません');
    expect(within(section).queryByTestId('derived-products')).toBeNull();
    expect(within(section).queryByTestId('derived-promotion')).toBeNull();
  });

  it('shows nothing before the job first ran', () => {
    render(<DerivedAttributesSection derived={undefined} />);
    expect(screen.queryByTestId('derived-attributes')).toBeNull();
  });
});
