/**
 * Katakana → lowercase Hepburn, the way Japanese people spell their names in e-mail
 * addresses: long vowels are dropped (サトウ → sato, オオタ → ota, ユウキ → yuki), but a
 * vowel pair that starts a new syllable stays (イノウエ → inoue).
 */
const MORA: Record<string, string> = {
  ア: 'a', イ: 'i', ウ: 'u', エ: 'e', オ: 'o',
  カ: 'ka', キ: 'ki', ク: 'ku', ケ: 'ke', コ: 'ko',
  ガ: 'ga', ギ: 'gi', グ: 'gu', ゲ: 'ge', ゴ: 'go',
  サ: 'sa', シ: 'shi', ス: 'su', セ: 'se', ソ: 'so',
  ザ: 'za', ジ: 'ji', ズ: 'zu', ゼ: 'ze', ゾ: 'zo',
  タ: 'ta', チ: 'chi', ツ: 'tsu', テ: 'te', ト: 'to',
  ダ: 'da', ヂ: 'ji', ヅ: 'zu', デ: 'de', ド: 'do',
  ナ: 'na', ニ: 'ni', ヌ: 'nu', ネ: 'ne', ノ: 'no',
  ハ: 'ha', ヒ: 'hi', フ: 'fu', ヘ: 'he', ホ: 'ho',
  バ: 'ba', ビ: 'bi', ブ: 'bu', ベ: 'be', ボ: 'bo',
  パ: 'pa', ピ: 'pi', プ: 'pu', ペ: 'pe', ポ: 'po',
  マ: 'ma', ミ: 'mi', ム: 'mu', メ: 'me', モ: 'mo',
  ヤ: 'ya', ユ: 'yu', ヨ: 'yo',
  ラ: 'ra', リ: 'ri', ル: 'ru', レ: 're', ロ: 'ro',
  ワ: 'wa', ヲ: 'o', ン: 'n', ヴ: 'vu',
};
const SMALL_Y: Record<string, string> = { ャ: 'a', ュ: 'u', ョ: 'o' };
const SMALL_VOWEL: Record<string, string> = { ァ: 'a', ィ: 'i', ゥ: 'u', ェ: 'e', ォ: 'o' };

export function katakanaToRomaji(kana: string): string {
  const morae: string[] = [];
  let doubleNext = false;
  const replaceLast = (change: (last: string) => string) => {
    morae[morae.length - 1] = change(morae[morae.length - 1] ?? '');
  };
  for (const ch of kana) {
    const mora = MORA[ch];
    const smallY = SMALL_Y[ch];
    const smallVowel = SMALL_VOWEL[ch];
    if (mora !== undefined) {
      morae.push(doubleNext && mora !== 'n' ? (mora.startsWith('ch') ? 't' : mora[0]) + mora : mora);
      doubleNext = false;
    } else if (ch === 'ッ') {
      doubleNext = true;
    } else if (smallY !== undefined) {
      // キャ kya, シャ sha, チュ chu, ジョ jo, デュ dyu.
      replaceLast((last) => (/^(s|c|j)/.test(last) && last.endsWith('i') ? last.slice(0, -1) + smallY : last.slice(0, -1) + 'y' + smallY));
    } else if (smallVowel !== undefined) {
      // ウィ wi, フィ fi, ティ ti, ヴァ va, シェ she.
      replaceLast((last) => {
        if (last === 'u') return 'w' + smallVowel;
        if (last === 'vu') return 'v' + smallVowel;
        return last.slice(0, -1) + smallVowel;
      });
    } else if (ch !== 'ー') {
      morae.push(ch === '・' ? ' ' : ch);
    }
  }
  return morae.join('').replace(/([ou])u(?![aeiou])/g, '$1').replace(/oo(?![aeiou])/g, 'o');
}
