/** The portal's own strings, ja and en (the portal bundles nothing of the staff app's). */
const ja = {
  title: 'お客さまポータル',
  language: 'English',
  languageLabel: 'Switch to English',
  loading: '読み込み中…',
  signIn: 'サインイン',
  signOut: 'サインアウト',
  customerCode: 'お客さま番号',
  password: 'パスワード',
  withPassword: 'パスワードで',
  withCode: 'メールのコードで',
  email: '登録済みのメールアドレス',
  sendCode: 'コードを送る',
  codeSent: 'お客さま番号とアドレスが一致すれば、6桁のコードをお送りしました。',
  code: '6桁のコード',
  invitationTitle: 'パスワードの設定',
  newPassword: '新しいパスワード(10文字以上)',
  repeatPassword: 'もう一度',
  passwordsDiffer: 'パスワードが一致しません',
  setPassword: '設定してサインイン',
  welcome: '{name} 様',
  rank: 'ランク {rank}',
  products: '商品',
  pages: 'ご案内',
  nothing: '表示できるものはありません。',
  back: '一覧へ戻る',
  price: '{price} 円(税込)',
  priceOnRequest: '価格はお問い合わせください',
  owned: 'ご契約中',
  order: 'ご注文',
  quantity: '数量',
  note: 'ご連絡事項(任意)',
  placeOrder: '注文する',
  ordered: 'ご注文を承りました。確認メールをお送りします。',
  orderedNoMail: 'ご注文を承りました(確認メールは送れませんでした)。',
  myOrders: 'ご注文履歴',
  noOrders: 'ご注文はまだありません。',
  notFound: 'このページは見つかりません。',
  error: 'エラー: {message}',
  video: '動画',
  hotspot: '{label}(動画内)',
  contactRep: '担当者に連絡する',
  contactRepTitle: '担当者への連絡',
  contactRepIntro: '「{product}」について担当者からご連絡します。',
  message: 'ご用件',
  preferredMethod: 'ご希望の連絡方法',
  methodPhone: '電話',
  methodEmail: 'メール',
  methodVisit: '訪問',
  preferredTime: 'ご希望の時間帯(任意)',
  requestedAction: 'ご希望の対応',
  actionDocuments: '資料がほしい',
  actionVisit: '訪問してほしい',
  actionCall: '電話してほしい',
  send: '送信する',
  cancel: '閉じる',
  contactRepSent: '担当者にお伝えしました。担当者からご連絡いたします。',
  requestMaterial: '資料を請求する',
  materialSent: '資料請求を承りました。担当者からお送りします。',
  changeAddress: '住所変更',
  addressTitle: 'ご住所の変更',
  currentAddress: '現在のご住所: 〒{postalCode} {address}',
  postalCode: '郵便番号(例: 100-0001)',
  address: '新しいご住所',
  addressSent: 'ご住所を変更しました。担当者にもお伝えしました。',
};

type Strings = typeof ja;

const en: Strings = {
  title: 'Customer portal',
  language: '日本語',
  languageLabel: '日本語に切り替える',
  loading: 'Loading…',
  signIn: 'Sign in',
  signOut: 'Sign out',
  customerCode: 'Customer number',
  password: 'Password',
  withPassword: 'With password',
  withCode: 'With an e-mailed code',
  email: 'Your registered e-mail address',
  sendCode: 'Send code',
  codeSent: 'If the customer number and address match, we sent a six-digit code.',
  code: 'Six-digit code',
  invitationTitle: 'Set your password',
  newPassword: 'New password (10 characters or more)',
  repeatPassword: 'Repeat it',
  passwordsDiffer: 'The passwords differ',
  setPassword: 'Set and sign in',
  welcome: '{name}',
  rank: 'Rank {rank}',
  products: 'Products',
  pages: 'Information',
  nothing: 'Nothing to show.',
  back: 'Back to the list',
  price: '¥{price} (tax incl.)',
  priceOnRequest: 'Price on request',
  owned: 'You own this',
  order: 'Order',
  quantity: 'Quantity',
  note: 'Note (optional)',
  placeOrder: 'Place order',
  ordered: 'Thank you, we received your order. A confirmation e-mail is on its way.',
  orderedNoMail: 'Thank you, we received your order (the confirmation e-mail could not be sent).',
  myOrders: 'Your orders',
  noOrders: 'No orders yet.',
  notFound: 'This page was not found.',
  error: 'Error: {message}',
  video: 'Video',
  hotspot: '{label} (in the video)',
  contactRep: 'Contact my rep',
  contactRepTitle: 'Contact my rep',
  contactRepIntro: 'Your rep will contact you about “{product}”.',
  message: 'Your message',
  preferredMethod: 'How should we reach you?',
  methodPhone: 'Phone',
  methodEmail: 'E-mail',
  methodVisit: 'Visit',
  preferredTime: 'Preferred time (optional)',
  requestedAction: 'What would you like?',
  actionDocuments: 'Documents',
  actionVisit: 'A visit',
  actionCall: 'A call',
  send: 'Send',
  cancel: 'Close',
  contactRepSent: 'We passed this on to your rep, who will contact you.',
  requestMaterial: 'Request material',
  materialSent: 'We received your request; your rep will send the material.',
  changeAddress: 'Change address',
  addressTitle: 'Change your address',
  currentAddress: 'Current address: 〒{postalCode} {address}',
  postalCode: 'Postal code (e.g. 100-0001)',
  address: 'New address',
  addressSent: 'Your address was changed, and your rep was told.',
};

export type PortalLanguage = 'ja' | 'en';
export type StringKey = keyof Strings;
const STRINGS: Record<PortalLanguage, Strings> = { ja, en };
const STORAGE_KEY = 'tsunagu.portal.language';

export function initialLanguage(): PortalLanguage {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'ja' || stored === 'en') return stored;
  } catch {
    // Storage may be off; the browser's language decides.
  }
  return navigator.language.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

export function rememberLanguage(language: PortalLanguage): void {
  try {
    localStorage.setItem(STORAGE_KEY, language);
  } catch {
    // Not remembered; the page still switches.
  }
}

export function translate(language: PortalLanguage, key: StringKey, values: Record<string, string | number> = {}): string {
  return STRINGS[language][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ''));
}
