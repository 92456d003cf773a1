import { z } from 'zod';
import { CustomerType, Id } from './domain.js';

/**
 * A tenant's routing rules for inbound calls (GET/PUT /api/telephony/routing-rules, admins):
 * calls of a customer of a type go first to the free members of the rule's group, before the
 * default order (last handler, assigned rep, longest idle). PUT replaces the whole set.
 */
export const RoutingGroupName = z.string().trim().min(1).max(100);

export const RoutingGroup = z
  .object({
    name: RoutingGroupName,
    /** User ids of the tenant's agents. */
    members: z.array(Id).max(500),
  })
  .strict();
export type RoutingGroup = z.infer<typeof RoutingGroup>;

export const RoutingRule = z
  .object({
    customerType: CustomerType,
    group: RoutingGroupName,
  })
  .strict();
export type RoutingRule = z.infer<typeof RoutingRule>;

export const RoutingRules = z
  .object({
    groups: z.array(RoutingGroup).max(100),
    rules: z.array(RoutingRule).max(CustomerType.options.length),
  })
  .strict()
  .superRefine((value, ctx) => {
    const names = new Set<string>();
    value.groups.forEach((group, g) => {
      if (names.has(group.name)) ctx.addIssue({ code: 'custom', path: ['groups', g, 'name'], message: 'group names must be unique' });
      names.add(group.name);
      const members = new Set<string>();
      group.members.forEach((member, m) => {
        if (members.has(member)) ctx.addIssue({ code: 'custom', path: ['groups', g, 'members', m], message: 'listed twice' });
        members.add(member);
      });
    });
    const types = new Set<string>();
    value.rules.forEach((rule, r) => {
      if (types.has(rule.customerType)) ctx.addIssue({ code: 'custom', path: ['rules', r, 'customerType'], message: 'one rule per customer type' });
      types.add(rule.customerType);
      if (!names.has(rule.group)) ctx.addIssue({ code: 'custom', path: ['rules', r, 'group'], message: 'no group of this name' });
    });
  });
export type RoutingRules = z.infer<typeof RoutingRules>;
