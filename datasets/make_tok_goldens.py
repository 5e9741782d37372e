#!/usr/bin/env python3
"""Trains tiny Hugging Face tokenizers of each type mpct implements and records
their token ids as goldens for tests/tok/test_tok_json.c.

For each tokenizer NAME this writes tests/data/tok/NAME/:
  tokenizer.json  the trained tokenizer, as `tokenizers` saves it
  golden.txt      one line per (text, max_length): "MAXLEN<TAB>HEX<TAB>IDS"
                  MAXLEN 0 means no truncation; HEX is the UTF-8 text in hex
                  (so that newlines, tabs and any code point fit on a line);
                  IDS are the ids `tokenizers` gives (space separated, with the
                  post-processor's special tokens; with truncation on, as
                  `enable_truncation(max_length=MAXLEN)` = transformers'
                  `truncation=True, max_length=MAXLEN`).

Also tests/data/tok/bert_seqcls/tokenizer.json (see bert_seqcls_json).

Training corpus: tests/data/tok_golden_input.txt and datasets/sample-reviews.txt
(both committed) plus the built-in MULTILINGUAL lines below. Test texts: every
line of tests/data/tok_golden_input.txt plus EXTRA (whitespace runs with
newlines, very long words, emoji, special-token strings, the empty text).

Needs: pip install tokenizers transformers sentencepiece protobuf.
Usage: python3 datasets/make_tok_goldens.py [REPO_ROOT] [--bert-only | --only NAME]
(--bert-only: rewrite bert_seqcls/tokenizer.json alone; --only NAME: that
tokenizer alone. Training with
`tokenizers` is not bit-reproducible (WordPiece and Unigram vary from run to
run), so a rerun gives other, equally valid, tokenizer/golden pairs.)
"""
import os
import sys

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

ROOT = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "tests", "data", "tok")

MULTILINGUAL = [
    "Café crème brûlée, naïve résumé, façade, jalapeño, Ångström, Œuvre, straße.",
    "我爱北京天安门。今天天气很好，我们去公园散步吧。",
    "日本語のテキストとカタカナ、ひらがなを混ぜた文です。",
    "한국어 문장도 조금 넣어 봅니다.",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Γειά σου κόσμε, αυτό είναι ένα τεστ.",
    "مرحبا بالعالم، هذا اختبار.",
    "שלום עולם",
    "नमस्ते दुनिया, यह एक परीक्षण है।",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ﬁ ﬂ ℌ ① ㈱ ½",
    "Emoji: 👍🏽 🎉🎉 👨‍👩‍👧 ❤️ 🇫🇷",
    "it's we're they've I'm you'll he'd don't CAN'T",
    "    indented code\n\tdef f(x):\n\t\treturn x  # comment\n",
]

EXTRA = [
    "",
    " ",
    "   leading and trailing spaces   ",
    "tabs\tand\t\tnewlines\n\nand\r\nCRLF",
    "a    b     c      d",
    "line one\nline two\n\n\nline five   \n",
    "a" * 300,
    "supercalifragilisticexpialidocious" * 6,
    "x" * 99 + " " + "y" * 100 + " " + "z" * 101,
    "👍" * 40,
    "<s>hello</s> <mask> world <pad> <unk>",
    "[CLS] hello [SEP] [MASK] [PAD] [UNK] [cls]",
    "Hello<mask>world and hello <mask> world",
    "Ｈｅｌｌｏ　ｗｏｒｌｄ ﬁne ①②③ ™ ㎏",
    "e\u0301 vs \u00e9, \u212b vs \u00c5, \u1e9b\u0323",
    "zero\u200bwidth\u200dj\ufeffoiner \u00ad soft",
    "\u2028line\u2029para\u0085nel\u00a0nbsp\u3000ideo",
    "123456789012345678901234567890 3.14159 1,000,000",
    "!!!??? ... --- *** ((()))",
    "mixed中文and English混合text",
    "\u0000nul and \u0007 bell \u001b escape",
    "'s 're 've 'm 'll 'd 'S ''",
    "it'S WE'RE they'Ve I'M you'LL he'D \u017f's x'\u017fx x'\u017ftx",
    "end of line  \n   indented\n\t\tnext \r\n x\n\n  y \n",
    "a\n b\r\n\tc  \t\n\t d",
    "1234567 12 3.5e10 \u0661\u0662\u0663\u0664 \u2460\u2461\u2462\u2463",
]

MAXLENS = [0, 8, 16]  # with truncation: the first 40 lines of the input file and EXTRA


def corpus():
    lines = []
    for name in (os.path.join(ROOT, "tests", "data", "tok_golden_input.txt"),
                 os.path.join(ROOT, "datasets", "sample-reviews.txt")):
        with open(name, encoding="utf-8", newline="\n") as f:
            lines += f.read().split("\n")
    return lines + MULTILINGUAL


def texts():
    with open(os.path.join(ROOT, "tests", "data", "tok_golden_input.txt"), encoding="utf-8",
              newline="\n") as f:
        base = f.read().split("\n")
    if base and base[-1] == "":
        base.pop()
    return base + MULTILINGUAL + EXTRA


def wordpiece(lowercase, strip_accents, chinese, vocab_size, max_chars, template):
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=max_chars))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=chinese,
                                              strip_accents=strip_accents, lowercase=lowercase)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tr = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials,
                                   continuing_subword_prefix="##")
    t.train_from_iterator(corpus(), tr)
    cls, sep = t.token_to_id("[CLS]"), t.token_to_id("[SEP]")
    if template:
        t.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    else:
        t.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    t.decoder = decoders.WordPiece()
    return t


def bytelevel_bpe(add_prefix_space, vocab_size, roberta):
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    t.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tr = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t.train_from_iterator(corpus(), tr)
    # RoBERTa's <mask> swallows the white space before it (lstrip).
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    s, e = t.token_to_id("<s>"), t.token_to_id("</s>")
    if roberta:
        t.post_processor = processors.RobertaProcessing(("</s>", e), ("<s>", s),
                                                        add_prefix_space=add_prefix_space)
    else:
        t.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", s)])
    return t


LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
             r"\s*[\r\n]+|\s+(?!\S)|\s+")


def llama3_bpe(vocab_size):
    """LLaMA-3's layout: Split(its regex) + ByteLevel without regex, BPE with
    ignore_merges, <|begin_of_text|> $A; plus a <pad> (LLaMA-3 has none)."""
    t = Tokenizer(models.BPE(ignore_merges=True))
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_RE), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<pad>"]
    tr = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t.train_from_iterator(corpus(), tr)
    b = t.token_to_id("<|begin_of_text|>")
    t.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", b)])])
    return t


def unigram(vocab_size, scheme, normalizer):
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizer
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme)
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tr = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                 max_piece_length=12)
    t.train_from_iterator(corpus(), tr)
    s, e = t.token_to_id("<s>"), t.token_to_id("</s>")
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", s), ("</s>", e)])
    return t


def xlmr_spm(vocab_size):
    """XLM-R's layout: a SentencePiece Unigram model (trained with sentencepiece,
    default nmt_nfkc rules) converted by transformers' XLMRobertaConverter:
    Precompiled + Strip + Replace normalizers, Metaspace, <s> $A </s>."""
    import tempfile
    import types

    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import XLMRobertaConverter
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(line for line in corpus() if line.strip()))
    spm.SentencePieceTrainer.train(input=os.path.join(d, "corpus.txt"), model_prefix=os.path.join(d, "m"),
                                   vocab_size=vocab_size, model_type="unigram", character_coverage=1.0,
                                   minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "m.model"))
    fixed = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}  # fairseq ids; spm ids shift by 1
    orig = types.SimpleNamespace(vocab_file=os.path.join(d, "m.model"), legacy=True, add_prefix_space=True,
                                 convert_tokens_to_ids=lambda tok: fixed.get(tok, sp.piece_to_id(tok) + 1))
    return XLMRobertaConverter(orig).converted()


TOKENIZERS = {
    "wordpiece_cased": lambda: wordpiece(False, None, True, 900, 100, False),
    "wordpiece_uncased": lambda: wordpiece(True, True, False, 700, 20, True),
    "bpe_roberta": lambda: bytelevel_bpe(False, 1000, True),
    "bpe_prefix": lambda: bytelevel_bpe(True, 600, False),
    "bpe_llama3": lambda: llama3_bpe(900),
    "unigram_xlmr": lambda: xlmr_spm(1300),
    "unigram": lambda: unigram(1400, "always", normalizers.NFKC()),
    "unigram_first": lambda: unigram(1200, "first", normalizers.Sequence(
        [normalizers.NFKD(), normalizers.Lowercase(), normalizers.NFC(), normalizers.NFD()])),
}


def check_transformers(t, text, n):
    """transformers' truncation=True, max_length=n must agree with `tokenizers`."""
    from transformers import PreTrainedTokenizerFast
    f = PreTrainedTokenizerFast(tokenizer_object=t)
    return f(text, truncation=True, max_length=n)["input_ids"]


def bert_seqcls_json():
    """tests/data/tok/bert_seqcls/tokenizer.json: what `tokenizers`' BertWordPieceTokenizer
    makes of tests/data/hf/bert-seqcls/vocab.txt (lower case), for tok_cmd_pack_json."""
    from tokenizers import BertWordPieceTokenizer
    d = os.path.join(ROOT, "tests", "data", "hf", "bert-seqcls")
    t = BertWordPieceTokenizer(os.path.join(d, "vocab.txt"), lowercase=True)
    out = os.path.join(OUT, "bert_seqcls")
    os.makedirs(out, exist_ok=True)
    t.save(os.path.join(out, "tokenizer.json"))


def main():
    bert_seqcls_json()
    if "--bert-only" in sys.argv:
        return
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    for name, make in TOKENIZERS.items():
        if only and name != only:
            continue
        t = make()
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        t.save(os.path.join(d, "tokenizer.json"))
        t = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))  # what mpct reads
        rows = []
        for n in MAXLENS:
            if n:
                t.enable_truncation(max_length=n)
            else:
                t.no_truncation()
            for text in (texts() if n == 0 else texts()[:40] + EXTRA):
                ids = t.encode(text).ids
                if n and text in EXTRA:
                    assert ids == check_transformers(t, text, n), (name, text)
                rows.append("%d\t%s\t%s" % (n, text.encode("utf-8").hex(), " ".join(map(str, ids))))
        with open(os.path.join(d, "golden.txt"), "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(rows) + "\n")
        print("%s: vocab %d, %d golden rows" % (name, t.get_vocab_size(), len(rows)))


if __name__ == "__main__":
    main()
