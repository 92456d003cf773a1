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
  callMe: 'お電話のご依頼',
  shareTitle: '画面の共有',
  shareHelp: 'お電話中のオペレーターに、いまご覧のページを見てもらえます。入力欄の内容は見えません。',
  shareScreen: '画面を共有する',
  shareNeedsCall: '画面の共有は、オペレーターとお電話中にだけ使えます。',
  shareReadCode: 'この6桁の番号をオペレーターにお伝えください。',
  shareCodeLabel: '共有の番号',
  shareCancel: 'やめる',
  sharing: 'オペレーターがこのページを見ています。',
  stopSharing: '共有をやめる',
  shareEnded: '画面の共有は終了しました。',
  operatorPoints: 'オペレーターが指している箇所',
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
  callMe: 'Call me',
  shareTitle: 'Share your screen',
  shareHelp: 'The operator on the phone with you can see the page you are looking at. What you type in fields stays hidden.',
  shareScreen: 'Share my screen',
  shareNeedsCall: 'Screen sharing works only while you are on a call with an operator.',
  shareReadCode: 'Read these six digits to the operator.',
  shareCodeLabel: 'Sharing code',
  shareCancel: 'Cancel',
  sharing: 'The operator is viewing this page.',
  stopSharing: 'Stop sharing',
  shareEnded: 'Screen sharing has ended.',
  operatorPoints: 'Where the operator is pointing',
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
