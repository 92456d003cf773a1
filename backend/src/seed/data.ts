import type { ContactKind } from '../../../shared/domain.js';

/** A written form with its katakana reading; `romaji` overrides the romanised reading. */
export interface Reading {
  text: string;
  kana: string;
  romaji?: string;
}

/** Parses "漢字:カナ[:romaji],…" lists, which keep the word tables readable. */
function readings(list: string): Reading[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [text, kana, romaji] = entry.split(':');
      if (!text || !kana) throw new Error(`Malformed reading entry "${entry}"`);
      return romaji ? { text, kana, romaji } : { text, kana };
    });
}

/**
 * Common Japanese family names, most frequent first (the generator weights them by rank,
 * so 佐藤 and 鈴木 are the most common, as in Japan).
 */
export const FAMILY_NAMES = readings(`
  佐藤:サトウ, 鈴木:スズキ, 高橋:タカハシ, 田中:タナカ, 伊藤:イトウ, 渡辺:ワタナベ, 山本:ヤマモト,
  中村:ナカムラ, 小林:コバヤシ, 加藤:カトウ, 吉田:ヨシダ, 山田:ヤマダ, 佐々木:ササキ, 山口:ヤマグチ,
  松本:マツモト, 井上:イノウエ, 木村:キムラ, 林:ハヤシ, 斎藤:サイトウ, 清水:シミズ, 山崎:ヤマザキ,
  森:モリ, 池田:イケダ, 橋本:ハシモト, 阿部:アベ, 石川:イシカワ, 山下:ヤマシタ, 中島:ナカジマ,
  石井:イシイ, 小川:オガワ, 前田:マエダ, 岡田:オカダ, 長谷川:ハセガワ, 藤田:フジタ, 後藤:ゴトウ,
  近藤:コンドウ, 村上:ムラカミ, 遠藤:エンドウ, 青木:アオキ, 坂本:サカモト, 斉藤:サイトウ, 福田:フクダ,
  太田:オオタ, 西村:ニシムラ, 藤井:フジイ, 金子:カネコ, 岡本:オカモト, 藤原:フジワラ, 中野:ナカノ,
  三浦:ミウラ, 原田:ハラダ, 中川:ナカガワ, 松田:マツダ, 竹内:タケウチ, 小野:オノ, 田村:タムラ,
  中山:ナカヤマ, 和田:ワダ, 石田:イシダ, 森田:モリタ, 上田:ウエダ, 原:ハラ, 内田:ウチダ, 柴田:シバタ,
  酒井:サカイ, 宮崎:ミヤザキ, 横山:ヨコヤマ, 高木:タカギ, 安藤:アンドウ, 宮本:ミヤモト, 大野:オオノ,
  小島:コジマ, 谷口:タニグチ, 今井:イマイ, 工藤:クドウ, 高田:タカダ, 増田:マスダ, 丸山:マルヤマ,
  杉山:スギヤマ, 村田:ムラタ, 大塚:オオツカ, 新井:アライ, 小山:コヤマ, 平野:ヒラノ, 藤本:フジモト,
  河野:コウノ, 上野:ウエノ, 野口:ノグチ, 武田:タケダ, 松井:マツイ, 千葉:チバ, 岩崎:イワサキ,
  菅原:スガワラ, 木下:キノシタ, 久保:クボ, 佐野:サノ, 野村:ノムラ, 松尾:マツオ, 市川:イチカワ,
  菊地:キクチ, 杉本:スギモト, 古川:フルカワ, 大西:オオニシ, 島田:シマダ, 水野:ミズノ, 桜井:サクライ,
  高野:タカノ, 渡部:ワタナベ, 吉川:ヨシカワ, 山内:ヤマウチ, 西田:ニシダ, 飯田:イイダ, 菊池:キクチ,
  西川:ニシカワ, 小松:コマツ, 北村:キタムラ, 安田:ヤスダ, 五十嵐:イガラシ, 川口:カワグチ, 平田:ヒラタ,
  関:セキ, 中田:ナカタ, 久保田:クボタ, 服部:ハットリ, 東:アズマ, 岩田:イワタ, 土屋:ツチヤ,
  川崎:カワサキ, 福島:フクシマ, 本田:ホンダ, 辻:ツジ, 樋口:ヒグチ, 秋山:アキヤマ, 田口:タグチ,
  永井:ナガイ, 山中:ヤマナカ, 中西:ナカニシ, 吉村:ヨシムラ, 川上:カワカミ, 大橋:オオハシ,
  石原:イシハラ, 松岡:マツオカ, 浅野:アサノ, 荒木:アラキ, 大久保:オオクボ, 宮田:ミヤタ, 小西:コニシ,
  南:ミナミ, 松下:マツシタ, 熊谷:クマガイ, 片山:カタヤマ, 早川:ハヤカワ, 内藤:ナイトウ, 堀:ホリ
`);

export const MALE_GIVEN_NAMES = readings(`
  太郎:タロウ, 一郎:イチロウ, 健太:ケンタ, 翔太:ショウタ, 大輔:ダイスケ, 拓也:タクヤ, 直樹:ナオキ,
  浩:ヒロシ, 誠:マコト, 剛:ツヨシ, 健一:ケンイチ, 隆:タカシ, 学:マナブ, 修:オサム, 博之:ヒロユキ,
  和也:カズヤ, 達也:タツヤ, 雄一:ユウイチ, 亮:リョウ, 悠真:ユウマ, 蓮:レン, 大翔:ヒロト, 陽翔:ハルト,
  湊:ミナト, 悠人:ユウト, 翔:ショウ, 聡:サトシ, 茂:シゲル, 清:キヨシ, 勇気:ユウキ, 康介:コウスケ,
  涼介:リョウスケ, 俊介:シュンスケ, 拓海:タクミ, 健二:ケンジ, 正樹:マサキ, 秀樹:ヒデキ, 信也:シンヤ,
  光:ヒカル, 純一:ジュンイチ, 真一:シンイチ, 智也:トモヤ, 雅人:マサト, 裕太:ユウタ, 賢治:ケンジ
`);

export const FEMALE_GIVEN_NAMES = readings(`
  花子:ハナコ, 陽子:ヨウコ, 恵子:ケイコ, 裕子:ユウコ, 美咲:ミサキ, 由美:ユミ, 真由美:マユミ, 智子:トモコ,
  久美子:クミコ, 直美:ナオミ, 愛:アイ, 彩:アヤ, 陽菜:ヒナ, 結衣:ユイ, 葵:アオイ, さくら:サクラ, 美穂:ミホ,
  明美:アケミ, 京子:キョウコ, 幸子:サチコ, 洋子:ヨウコ, 恵美:エミ, 舞:マイ, 麻衣:マイ, 優子:ユウコ,
  千尋:チヒロ, 理恵:リエ, 香織:カオリ, 奈々:ナナ, 美香:ミカ, 沙織:サオリ, 由紀:ユキ, 綾香:アヤカ,
  結菜:ユイナ, 凛:リン, 芽依:メイ, 杏:アン, 紗希:サキ, 七海:ナナミ, 美月:ミヅキ, 恵:メグミ, 瞳:ヒトミ
`);

/** Stems of company names: places, auspicious words and katakana coinages. */
export const COMPANY_STEMS = readings(`
  日本:ニホン:nihon, 東洋:トウヨウ, 大和:ヤマト, 富士:フジ, 中央:チュウオウ, 東亜:トウア:toa, 三和:サンワ,
  丸正:マルショウ, 旭:アサヒ, 昭和:ショウワ, 太平洋:タイヘイヨウ, 光:ヒカリ, 協和:キョウワ,
  新日本:シンニホン:shinnihon, 関東:カントウ, 関西:カンサイ, 九州:キュウシュウ, 東北:トウホク,
  北海:ホッカイ, 第一:ダイイチ, 三協:サンキョウ, 大同:ダイドウ, 共栄:キョウエイ, 明和:メイワ,
  サクラ:サクラ, ミライ:ミライ, アオバ:アオバ, グリーン:グリーン:green, サンライズ:サンライズ:sunrise,
  エムケイ:エムケイ:mk, ワイズ:ワイズ:wise
`);

/** What a company does, with a latin slug for its (example) domain. */
export const COMPANY_BUSINESSES = readings(`
  商事:ショウジ, 建設:ケンセツ, 工業:コウギョウ, 電機:デンキ, 物産:ブッサン, 製作所:セイサクショ,
  運輸:ウンユ, 不動産:フドウサン, 食品:ショクヒン, 産業:サンギョウ, 興産:コウサン, 印刷:インサツ,
  精機:セイキ, 化学:カガク, 技研:ギケン, 薬品:ヤクヒン, 設計:セッケイ, 住宅:ジュウタク,
  物流:ブツリュウ, システム:システム:systems, ソリューションズ:ソリューションズ:solutions,
  テクノロジー:テクノロジー:tech, 商会:ショウカイ, 水産:スイサン, 観光:カンコウ, 電設:デンセツ,
  医療器:イリョウキ, 情報サービス:ジョウホウサービス:info-service
`);

export const LEGAL_FORMS: ReadonlyArray<readonly [Reading, number]> = [
  [{ text: '株式会社', kana: 'カブシキガイシャ' }, 70],
  [{ text: '有限会社', kana: 'ユウゲンガイシャ' }, 20],
  [{ text: '合同会社', kana: 'ゴウドウガイシャ' }, 10],
];

/** Latin names with the katakana a Japanese office would write for them. */
export const LATIN_GIVEN_NAMES = readings(`
  John:ジョン, Michael:マイケル, David:デイビッド, James:ジェームズ, Robert:ロバート, William:ウィリアム,
  Mary:メアリー, Emily:エミリー, Sarah:サラ, Emma:エマ, Olivia:オリビア, Sophie:ソフィー,
  Thomas:トーマス, Daniel:ダニエル, Anna:アンナ, Laura:ローラ, Chris:クリス, Kevin:ケビン, Lisa:リサ,
  Jessica:ジェシカ, Mark:マーク, Paul:ポール, Peter:ピーター, Lucas:ルーカス, Marie:マリー,
  Hannah:ハンナ, Jennifer:ジェニファー, Matthew:マシュー, Andrew:アンドリュー, Ryan:ライアン,
  Élodie:エロディ, José:ホセ, Lukas:ルーカス, Minh:ミン, Wei:ウェイ, Priya:プリヤ
`);

export const LATIN_FAMILY_NAMES = readings(`
  Smith:スミス, Johnson:ジョンソン, Brown:ブラウン, Williams:ウィリアムズ, Miller:ミラー, Davis:デイビス,
  Wilson:ウィルソン, Taylor:テイラー, Anderson:アンダーソン, Thomas:トーマス, Moore:ムーア,
  Martin:マーティン, Lee:リー, Clark:クラーク, Lewis:ルイス, Walker:ウォーカー, Hall:ホール,
  Young:ヤング, King:キング, Wright:ライト, Green:グリーン, Baker:ベイカー, Adams:アダムス,
  Nelson:ネルソン, Carter:カーター, Mitchell:ミッチェル, Roberts:ロバーツ, Turner:ターナー,
  Campbell:キャンベル, Parker:パーカー, Evans:エバンス, Collins:コリンズ, Stewart:スチュワート,
  Morgan:モーガン, Cooper:クーパー, Kelly:ケリー, Hughes:ヒューズ, García:ガルシア, Müller:ミュラー,
  Dubois:デュボワ, Rossi:ロッシ, Kim:キム, Nguyen:グエン, Chen:チェン, Wang:ワン, Silva:シルバ,
  Schmidt:シュミット, Novak:ノバク, Patel:パテル, O'Brien:オブライエン
`);

export const LATIN_COMPANY_WORDS = readings(`
  Pacific:パシフィック, Summit:サミット, Harbor:ハーバー, Blue Sky:ブルースカイ, Northstar:ノーススター,
  Evergreen:エバーグリーン, Silverline:シルバーライン, Redwood:レッドウッド, Oceanic:オーシャニック,
  Pioneer:パイオニア, Crescent:クレセント, Atlas:アトラス, Horizon:ホライズン, Maple:メープル
`);

export const LATIN_COMPANY_BUSINESSES = readings(`
  Trading:トレーディング, Systems:システムズ, Logistics:ロジスティクス, Foods:フーズ,
  Consulting:コンサルティング, Software:ソフトウェア, Medical:メディカル, Engineering:エンジニアリング,
  Design:デザイン, Imports:インポーツ
`);

export const LATIN_LEGAL_FORMS = ['Inc.', 'Ltd.', 'LLC', 'K.K.', 'Co., Ltd.', 'GmbH'] as const;

/** Branch offices of the demo tenant; the demo rep `rep-shibuya` belongs to 渋谷支店. */
export const BRANCHES = ['渋谷支店', '新宿支店', '横浜支店', '名古屋支店', '大阪支店', '福岡支店', '札幌支店', '仙台支店'] as const;
export type Branch = (typeof BRANCHES)[number];

export interface City {
  name: string;
  /** First three digits of the postal codes used in the city, inclusive range. */
  postalFrom: number;
  postalTo: number;
  /** Trunk prefix and area code of its landlines, e.g. '03', '052'. */
  areaCode: string;
  branch: Branch;
}

export interface Prefecture {
  name: string;
  /** Relative population, for picking prefectures in realistic proportions. */
  weight: number;
  cities: City[];
}

/** "市区:郵便番号先頭3桁の範囲:市外局番:支店" lists per prefecture. */
function cities(list: string): City[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name, postal, areaCode, branch] = entry.split(':');
      const [from, to] = (postal ?? '').split('-');
      if (!name || !from || !areaCode || !branch || !(BRANCHES as readonly string[]).includes(branch)) {
        throw new Error(`Malformed city entry "${entry}"`);
      }
      return {
        name,
        postalFrom: Number(from),
        postalTo: Number(to ?? from),
        areaCode,
        branch: branch as Branch,
      };
    });
}

export const PREFECTURES: Prefecture[] = [
  {
    name: '東京都',
    weight: 14,
    cities: cities(`
      千代田区:100-102:03:新宿支店, 中央区:103-104:03:新宿支店, 港区:105-108:03:渋谷支店,
      新宿区:160-169:03:新宿支店, 渋谷区:150-151:03:渋谷支店, 品川区:140-142:03:渋谷支店,
      目黒区:152-153:03:渋谷支店, 世田谷区:154-158:03:渋谷支店, 豊島区:170-171:03:新宿支店,
      台東区:110-111:03:新宿支店, 江東区:135-136:03:新宿支店, 大田区:143-146:03:渋谷支店,
      練馬区:176-179:03:新宿支店, 足立区:120-121:03:新宿支店, 八王子市:192-193:042:新宿支店,
      町田市:194-195:042:渋谷支店, 立川市:190:042:新宿支店`),
  },
  {
    name: '神奈川県',
    weight: 9.2,
    cities: cities(`
      横浜市中区:231:045:横浜支店, 横浜市西区:220:045:横浜支店, 横浜市港北区:222-223:045:横浜支店,
      横浜市青葉区:225-227:045:横浜支店, 川崎市川崎区:210:044:横浜支店, 川崎市中原区:211:044:横浜支店,
      相模原市中央区:252:042:横浜支店`),
  },
  {
    name: '大阪府',
    weight: 8.8,
    cities: cities(`
      大阪市北区:530-531:06:大阪支店, 大阪市中央区:540-542:06:大阪支店, 大阪市淀川区:532:06:大阪支店,
      大阪市天王寺区:543:06:大阪支店, 豊中市:560-561:06:大阪支店, 吹田市:564-565:06:大阪支店,
      東大阪市:577-579:06:大阪支店, 堺市堺区:590:072:大阪支店, 枚方市:573:072:大阪支店`),
  },
  {
    name: '愛知県',
    weight: 7.5,
    cities: cities(`
      名古屋市中区:460:052:名古屋支店, 名古屋市中村区:450-453:052:名古屋支店,
      名古屋市千種区:464:052:名古屋支店, 名古屋市東区:461:052:名古屋支店, 名古屋市熱田区:456:052:名古屋支店`),
  },
  {
    name: '埼玉県',
    weight: 7.3,
    cities: cities(`
      さいたま市大宮区:330:048:新宿支店, さいたま市浦和区:330:048:新宿支店, 川口市:332-334:048:新宿支店,
      越谷市:343:048:新宿支店, さいたま市南区:336:048:新宿支店`),
  },
  {
    name: '千葉県',
    weight: 6.3,
    cities: cities(`
      千葉市中央区:260:043:新宿支店, 千葉市美浜区:261:043:新宿支店, 船橋市:273-274:047:新宿支店,
      松戸市:270-271:047:新宿支店, 市川市:272:047:新宿支店`),
  },
  {
    name: '兵庫県',
    weight: 5.4,
    cities: cities(`
      神戸市中央区:650-651:078:大阪支店, 神戸市東灘区:658:078:大阪支店, 尼崎市:660-661:06:大阪支店,
      姫路市:670-672:079:大阪支店`),
  },
  {
    name: '北海道',
    weight: 5.1,
    cities: cities(`札幌市中央区:060-064:011:札幌支店, 札幌市北区:001-002:011:札幌支店, 札幌市白石区:003:011:札幌支店`),
  },
  {
    name: '福岡県',
    weight: 5.1,
    cities: cities(`
      福岡市博多区:812:092:福岡支店, 福岡市中央区:810:092:福岡支店, 福岡市早良区:814:092:福岡支店,
      北九州市小倉北区:802-803:093:福岡支店`),
  },
  { name: '静岡県', weight: 3.6, cities: cities(`静岡市葵区:420:054:名古屋支店, 浜松市中央区:430-432:053:名古屋支店`) },
  { name: '茨城県', weight: 2.8, cities: cities(`水戸市:310:029:新宿支店, つくば市:305:029:新宿支店`) },
  { name: '広島県', weight: 2.8, cities: cities(`広島市中区:730:082:大阪支店, 福山市:720-721:084:大阪支店`) },
  {
    name: '京都府',
    weight: 2.5,
    cities: cities(`京都市中京区:604:075:大阪支店, 京都市下京区:600:075:大阪支店, 京都市左京区:606:075:大阪支店`),
  },
  { name: '宮城県', weight: 2.3, cities: cities(`仙台市青葉区:980-981:022:仙台支店, 仙台市宮城野区:983:022:仙台支店`) },
  { name: '新潟県', weight: 2.2, cities: cities(`新潟市中央区:950-951:025:仙台支店`) },
  { name: '長野県', weight: 2, cities: cities(`長野市:380-381:026:名古屋支店`) },
  { name: '群馬県', weight: 1.9, cities: cities(`前橋市:371:027:新宿支店, 高崎市:370:027:新宿支店`) },
  { name: '栃木県', weight: 1.9, cities: cities(`宇都宮市:320-321:028:新宿支店`) },
  { name: '岡山県', weight: 1.9, cities: cities(`岡山市北区:700-701:086:大阪支店`) },
  { name: '熊本県', weight: 1.7, cities: cities(`熊本市中央区:860-862:096:福岡支店`) },
  { name: '鹿児島県', weight: 1.6, cities: cities(`鹿児島市:890-892:099:福岡支店`) },
  { name: '沖縄県', weight: 1.5, cities: cities(`那覇市:900-902:098:福岡支店`) },
  { name: '山口県', weight: 1.3, cities: cities(`下関市:750-751:083:福岡支店`) },
  { name: '愛媛県', weight: 1.3, cities: cities(`松山市:790-791:089:大阪支店`) },
  { name: '和歌山県', weight: 0.9, cities: cities(`和歌山市:640-641:073:大阪支店`) },
];

/**
 * First digits a subscriber number may start with after each area code (numbering-plan
 * gaps checked against libphonenumber's metadata; the seed tests verify every number).
 */
export const SUBSCRIBER_FIRST_DIGITS: Record<string, string> = {
  '011': '235678',
  '073': '456789',
  '084': '56789',
};
export const DEFAULT_SUBSCRIBER_FIRST_DIGITS = '23456789';
export const MOBILE_PREFIXES = ['070', '080', '090'] as const;

export const TOWNS = `本町 中央 栄町 旭町 緑町 若葉 桜町 東町 西町 南町 北町 元町 新町 宮前 松原 浜町 港町 中町
  泉町 富士見 日吉町 青葉台 花園 弥生町 寿町 錦町 末広町 大手町 幸町 平和町 昭和町 住吉町 千代田 柳町
  八幡町 春日 天神 駅前 城南 朝日町`
  .split(/\s+/)
  .filter(Boolean);

export const OFFICE_BUILDINGS = ['第一ビル', '第二ビル', 'セントラルビル', 'グランドビル', '中央ビル', 'ステーションビル', 'パークビル', 'スクエア'];
export const HOMES = ['ハイツ', 'マンション', 'コーポ', 'レジデンス', 'パレス', 'メゾン'];
export const HOME_STEMS = ['サンシャイン', 'グリーン', 'リバーサイド', '日の出', 'さくら', 'ひかり', 'エクセル', 'ロイヤル'];

/** Reserved example domains only (RFC 2606 and JPRS's reserved names): no real mailbox. */
export const PERSONAL_MAIL_DOMAINS = ['example.com', 'example.ne.jp', 'example.jp', 'example.org', 'example.net', 'example.co.jp'];

export const INCIDENT_TITLES_JA = `請求書の再発行依頼, 製品の初期不良について, 契約更新のご相談, 納期の確認, 見積もり依頼,
  配送遅延の問い合わせ, 操作方法の質問, 解約の申し出, 支払い方法の変更, 住所変更の手続き, ログインできない,
  保守契約の更新, 新製品の資料請求, 修理の受付, 返品・交換の依頼, 料金プランの見直し, セミナー参加申込み,
  訪問点検の日程調整, 請求金額の相違, 部品の在庫確認, ユーザー追加の依頼, パスワード再設定, 請求先の変更,
  領収書の発行, 導入前のデモ依頼, 障害発生の報告, アップデート後の不具合, 担当者変更のお知らせ,
  対応の遅れに関するご指摘, 支払期日の延長相談`
  .split(',')
  .map((s) => s.trim());

export const INCIDENT_TITLES_EN = `Invoice reissue request, Defective unit on delivery, Contract renewal, Delivery date confirmation,
  Quote request, Shipping delay, How-to question, Cancellation request, Change of payment method, Change of address,
  Cannot log in, Maintenance contract renewal, Brochure request, Repair request, Return and exchange, Plan review,
  Seminar registration, On-site inspection scheduling, Billing discrepancy, Spare parts availability`
  .split(',')
  .map((s) => s.trim());

/** Contact summaries per kind and language. */
export const CONTACT_SUMMARIES: Record<'ja' | 'en', Record<ContactKind, string[]>> = {
  ja: {
    call: ['お客様より電話。状況を確認', '折り返し電話で回答', '不在のため留守電にメッセージ', '担当部署へ転送', '内容を確認し後日連絡と回答', '手順を案内し解決', '進捗を電話で報告'],
    email: ['メールで問い合わせ受信', '回答メールを送信', '資料をメールで送付', '追加情報の依頼メール', 'お礼のメールを受信'],
    fax: ['注文書をFAXで受信', '見積書をFAXで送付', '申込書のFAXを受領'],
    web: ['Webフォームから問い合わせ', 'Webで資料請求', 'チャットで質問'],
    visit: ['訪問し現地を確認', '訪問して提案内容を説明', '定期点検で訪問'],
    seminar: ['製品セミナーに参加', 'オンラインセミナーを受講', '展示会ブースに来場'],
    note: ['社内メモ: 上長に相談済み', '次回連絡時に確認すること', '対応完了', 'エスカレーション済み', '請求担当に共有'],
  },
  en: {
    call: ['Customer called about the issue', 'Called back with an answer', 'Left a voicemail', 'Transferred to the responsible team', 'Promised a follow-up call', 'Walked through the steps; solved'],
    email: ['Inquiry received by e-mail', 'Sent reply by e-mail', 'Sent documents by e-mail', 'Asked for more details'],
    fax: ['Order form received by fax', 'Sent quote by fax'],
    web: ['Web form inquiry', 'Brochure requested on the web site', 'Question over chat'],
    visit: ['On-site visit', 'Visited to present the proposal', 'Routine inspection visit'],
    seminar: ['Attended product seminar', 'Joined the webinar', 'Visited our booth at the trade show'],
    note: ['Internal note: discussed with manager', 'Check on next contact', 'Resolved', 'Escalated', 'Shared with billing'],
  },
};

export const CONTACT_DETAILS_JA = [
  '次回は来週中に連絡予定。',
  '必要書類は案内済み。',
  'お客様は了承済み。',
  '在庫を確認中。',
  '担当部署に確認を依頼した。',
  '急ぎの対応を希望されている。',
  '前回の対応内容を確認のうえ回答。',
  '見積書は今週中に送付する。',
  '不明点があれば再度連絡いただくよう案内。',
  '午後の時間帯なら連絡可能とのこと。',
];

export const CONTACT_DETAILS_EN = [
  'Will follow up next week.',
  'Required documents explained.',
  'Customer agreed.',
  'Checking stock.',
  'Asked the responsible team to confirm.',
  'Customer asked for a quick response.',
  'Reviewed the previous contact before answering.',
  'Quote to be sent this week.',
  'Prefers calls in the afternoon.',
];

export const CALL_DISPOSITIONS = ['resolved', 'follow_up', 'transferred', 'voicemail', 'no_answer'] as const;
