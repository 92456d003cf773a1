import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { TelephonySettingsUpdate } from '../../../shared/admin.js';
import { CallMeHours } from '../../../shared/callme.js';
import { CustomerType } from '../../../shared/domain.js';
import type { Disposition, TelephonySettings } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { RoutingRules, type RoutingGroup } from '../../../shared/routing-rules.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';
import { useAdminStore } from './store.js';

function Problem({ error }: { error: AppError | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      <ErrorText error={error} />
    </p>
  );
}

/** The tenant's telephony settings (PUT /api/telephony/settings) and routing rules by customer type. */
export function TelephonySection() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="admin-telephony-heading" data-testid="admin-telephony">
      <h3 id="admin-telephony-heading">{t('admin.telephony.heading')}</h3>
      <SettingsForm />
      <RoutingRulesForm />
      <CallMeHoursForm />
    </section>
  );
}

function SettingsForm() {
  const { t } = useTranslation();
  const id = useId();
  const [settings, setSettings] = useState<TelephonySettings | null>(null);
  const [dispositions, setDispositions] = useState<Disposition[]>([]);
  const [afterCallWork, setAfterCallWork] = useState('');
  const [ringSeconds, setRingSeconds] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  function show(value: TelephonySettings) {
    setSettings(value);
    setDispositions(value.dispositions.map((d) => ({ ...d })));
    setAfterCallWork(String(value.afterCallWorkSeconds));
    setRingSeconds(String(value.ringSeconds));
  }
  useEffect(() => {
    void invoke('telephony:settings', undefined).then((result) => (result.ok ? show(result.value) : setProblem(result.error)));
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    setSaved(false);
    const checked = checkForm(TelephonySettingsUpdate, {
      dispositions,
      afterCallWorkSeconds: Number(afterCallWork),
      ringSeconds: Number(ringSeconds),
      dtmfMode: settings.dtmfMode,
      customerIdHeader: settings.customerIdHeader,
      defaultRegion: settings.defaultRegion,
    });
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:saveTelephonySettings', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    show(result.value);
    setSaved(true);
  }

  const setDisposition = (index: number, change: Partial<Disposition>) =>
    setDispositions(dispositions.map((d, i) => (i === index ? { ...d, ...change } : d)));

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-telephony-settings">
      <h4 id={`${id}-heading`}>{t('admin.telephony.settings')}</h4>
      {settings && (
        <>
          <fieldset>
            <legend>{t('admin.telephony.dispositions')}</legend>
            {dispositions.map((disposition, index) => (
              <div className="admin-row" key={index} data-testid="admin-disposition">
                <label>
                  {t('admin.telephony.code')}
                  <input value={disposition.code} onChange={(e) => setDisposition(index, { code: e.target.value })} {...fieldAria(`${id}-d${index}c`, errors, `dispositions.${index}.code`)} />
                </label>
                <FieldError id={`${id}-d${index}c`} errors={errors} field={`dispositions.${index}.code`} />
                <label>
                  {t('admin.telephony.label')}
                  <input value={disposition.label} onChange={(e) => setDisposition(index, { label: e.target.value })} {...fieldAria(`${id}-d${index}l`, errors, `dispositions.${index}.label`)} />
                </label>
                <FieldError id={`${id}-d${index}l`} errors={errors} field={`dispositions.${index}.label`} />
                <button type="button" className="quiet" onClick={() => setDispositions(dispositions.filter((_, i) => i !== index))} aria-label={t('admin.telephony.removeDisposition', { code: disposition.code })}>
                  {t('admin.telephony.remove')}
                </button>
              </div>
            ))}
            <FieldError id={`${id}-d`} errors={errors} field="dispositions" />
            <button type="button" onClick={() => setDispositions([...dispositions, { code: '', label: '' }])}>
              {t('admin.telephony.addDisposition')}
            </button>
          </fieldset>
          <label>
            {t('admin.telephony.afterCallWorkSeconds')}
            <input inputMode="numeric" value={afterCallWork} onChange={(e) => setAfterCallWork(e.target.value)} {...fieldAria(`${id}-acw`, errors, 'afterCallWorkSeconds')} />
          </label>
          <FieldError id={`${id}-acw`} errors={errors} field="afterCallWorkSeconds" />
          <label>
            {t('admin.telephony.ringSeconds')}
            <input inputMode="numeric" value={ringSeconds} onChange={(e) => setRingSeconds(e.target.value)} {...fieldAria(`${id}-ring`, errors, 'ringSeconds')} />
          </label>
          <FieldError id={`${id}-ring`} errors={errors} field="ringSeconds" />
          <label>
            {t('admin.telephony.dtmfMode')}
            <select value={settings.dtmfMode} onChange={(e) => setSettings({ ...settings, dtmfMode: e.target.value === 'info' ? 'info' : 'rfc4733' })}>
              <option value="rfc4733">{t('admin.telephony.dtmf.rfc4733')}</option>
              <option value="info">{t('admin.telephony.dtmf.info')}</option>
            </select>
          </label>
          <label>
            {t('admin.telephony.region')}
            <input value={settings.defaultRegion} maxLength={2} onChange={(e) => setSettings({ ...settings, defaultRegion: e.target.value })} {...fieldAria(`${id}-reg`, errors, 'defaultRegion')} />
          </label>
          <FieldError id={`${id}-reg`} errors={errors} field="defaultRegion" />
          <label>
            {t('admin.telephony.customerIdHeader')}
            <input value={settings.customerIdHeader} onChange={(e) => setSettings({ ...settings, customerIdHeader: e.target.value })} {...fieldAria(`${id}-hdr`, errors, 'customerIdHeader')} />
          </label>
          <FieldError id={`${id}-hdr`} errors={errors} field="customerIdHeader" />
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('admin.save')}
            </button>
            {saved && <span role="status">{t('admin.saved')}</span>}
          </div>
        </>
      )}
      <Problem error={problem} />
    </form>
  );
}

function RoutingRulesForm() {
  const { t } = useTranslation();
  const id = useId();
  const users = useAdminStore((s) => s.users);
  const [groups, setGroups] = useState<RoutingGroup[] | null>(null);
  const [ruleOf, setRuleOf] = useState<Partial<Record<CustomerType, string>>>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (!useAdminStore.getState().usersLoaded) void useAdminStore.getState().loadUsers();
    void invoke('admin:routingRules', undefined).then((result) => {
      if (!result.ok) return setProblem(result.error);
      setGroups(result.value.groups);
      setRuleOf(Object.fromEntries(result.value.rules.map((rule) => [rule.customerType, rule.group])));
    });
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!groups) return;
    setSaved(false);
    const rules = CustomerType.options.flatMap((customerType) => (ruleOf[customerType] ? [{ customerType, group: ruleOf[customerType] }] : []));
    const checked = checkForm(RoutingRules, { groups, rules });
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:saveRoutingRules', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    setGroups(result.value.groups);
    setSaved(true);
  }

  const setGroup = (index: number, change: Partial<RoutingGroup>) => groups && setGroups(groups.map((g, i) => (i === index ? { ...g, ...change } : g)));
  // Rules are sent for the types that have a group only, so an error's index counts those.
  const ruleField = (customerType: CustomerType) => `rules.${CustomerType.options.filter((type) => ruleOf[type]).indexOf(customerType)}.group`;
  const agents = users.filter((u) => u.role !== 'partner' && u.role !== 'admin' && !u.disabled);

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-routing-rules">
      <h4 id={`${id}-heading`}>{t('admin.routing.heading')}</h4>
      {groups && (
        <>
          {groups.map((group, index) => (
            <fieldset key={index} data-testid="admin-routing-group">
              <legend>{t('admin.routing.group', { name: group.name || '—' })}</legend>
              <label>
                {t('admin.routing.groupName')}
                <input value={group.name} onChange={(e) => setGroup(index, { name: e.target.value })} {...fieldAria(`${id}-g${index}`, errors, `groups.${index}.name`)} />
              </label>
              <FieldError id={`${id}-g${index}`} errors={errors} field={`groups.${index}.name`} />
              {agents.map((agent) => (
                <label key={agent.id} className="checkbox">
                  <input
                    type="checkbox"
                    checked={group.members.includes(agent.id)}
                    onChange={(e) =>
                      setGroup(index, { members: e.target.checked ? [...group.members, agent.id] : group.members.filter((m) => m !== agent.id) })
                    }
                  />
                  {agent.displayName} ({agent.login})
                </label>
              ))}
              <button type="button" className="quiet" onClick={() => setGroups(groups.filter((_, i) => i !== index))}>
                {t('admin.routing.removeGroup')}
              </button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setGroups([...groups, { name: '', members: [] }])}>
            {t('admin.routing.addGroup')}
          </button>
          <fieldset>
            <legend>{t('admin.routing.rules')}</legend>
            {CustomerType.options.map((customerType, index) => (
              <div key={customerType}>
              <label>
                {t(`customer.type.${customerType}`)}
                <select value={ruleOf[customerType] ?? ''} onChange={(e) => setRuleOf({ ...ruleOf, [customerType]: e.target.value })} {...fieldAria(`${id}-r${index}`, errors, ruleField(customerType))}>
                  <option value="">{t('admin.routing.defaultOrder')}</option>
                  {groups
                    .filter((g) => g.name.trim() !== '')
                    .map((g) => (
                      <option key={g.name} value={g.name}>
                        {g.name}
                      </option>
                    ))}
                </select>
              </label>
              <FieldError id={`${id}-r${index}`} errors={errors} field={ruleField(customerType)} />
              </div>
            ))}
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('admin.save')}
            </button>
            {saved && <span role="status">{t('admin.saved')}</span>}
          </div>
        </>
      )}
      <Problem error={problem} />
    </form>
  );
}

const WEEK_DAYS = [1, 2, 3, 4, 5, 6, 0] as const;
const UNSET_HOURS: CallMeHours = { timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5], opensAt: '09:00', closesAt: '17:00' };

/**
 * When the portal's "call me" requests are offered to operators (GET/PUT /api/callme/hours):
 * outside these hours a request is booked for the next opening. Until an admin saves hours,
 * requests are taken around the clock, and the form says so.
 */
function CallMeHoursForm() {
  const { t } = useTranslation();
  const id = useId();
  const [hours, setHours] = useState<CallMeHours>(UNSET_HOURS);
  const [stored, setStored] = useState<CallMeHours | null | undefined>(undefined);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  function show(value: CallMeHours | null) {
    setStored(value);
    if (value) setHours({ ...value, days: [...value.days] });
  }
  useEffect(() => {
    void invoke('admin:callMeHours', undefined).then((result) => (result.ok ? show(result.value) : setProblem(result.error)));
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const checked = checkForm(CallMeHours, hours);
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:saveCallMeHours', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    show(result.value);
    setSaved(true);
  }

  const toggleDay = (day: number) =>
    setHours({ ...hours, days: hours.days.includes(day) ? hours.days.filter((d) => d !== day) : [...hours.days, day] });

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-callme-hours">
      <h4 id={`${id}-heading`}>{t('admin.callMeHours.heading')}</h4>
      {stored === null && <p role="note">{t('admin.callMeHours.aroundTheClock')}</p>}
      {stored !== undefined && (
        <>
          <label>
            {t('admin.callMeHours.timeZone')}
            <input value={hours.timeZone} onChange={(e) => setHours({ ...hours, timeZone: e.target.value })} {...fieldAria(`${id}-tz`, errors, 'timeZone')} />
          </label>
          <FieldError id={`${id}-tz`} errors={errors} field="timeZone" />
          <fieldset>
            <legend>{t('admin.callMeHours.days')}</legend>
            {WEEK_DAYS.map((day) => (
              <label key={day} className="inline">
                <input type="checkbox" checked={hours.days.includes(day)} onChange={() => toggleDay(day)} />
                {t(`admin.callMeHours.day.${day}`)}
              </label>
            ))}
          </fieldset>
          <FieldError id={`${id}-days`} errors={errors} field="days" />
          <label>
            {t('admin.callMeHours.opensAt')}
            <input type="time" value={hours.opensAt} onChange={(e) => setHours({ ...hours, opensAt: e.target.value })} {...fieldAria(`${id}-open`, errors, 'opensAt')} />
          </label>
          <FieldError id={`${id}-open`} errors={errors} field="opensAt" />
          <label>
            {t('admin.callMeHours.closesAt')}
            <input type="time" value={hours.closesAt} onChange={(e) => setHours({ ...hours, closesAt: e.target.value })} {...fieldAria(`${id}-close`, errors, 'closesAt')} />
          </label>
          <FieldError id={`${id}-close`} errors={errors} field="closesAt" />
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('admin.save')}
            </button>
            {saved && <span role="status">{t('admin.saved')}</span>}
          </div>
        </>
      )}
      <Problem error={problem} />
    </form>
  );
}
