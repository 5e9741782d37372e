/*
 * cmd_pack.c — `mpct pack`: convert a Hugging Face BERT directory to an mpct
 * HDF5 model (io/FORMAT.md), or write a synthetic test model. A GGUF file
 * (io/GGUF.md) is converted to a Hugging Face directory first: into a
 * temporary directory next to the output, or with --gguf-to-hf into a
 * directory the user keeps (nothing is packed then).
 *
 * MPCT_COMMAND(pack, 0, "convert a Hugging Face model directory to an mpct HDF5 model")
 *
 * Prints one line per tensor (quantization: max abs and max relative error),
 * the compression ratio against the float32 safetensors and, with
 * --compress, what the HDF5 shuffle+deflate filters saved.
 * Exit status (pack_exits): 0 success, 1 bad input (the message names the
 * file and the problem), 2 bad usage or a refused argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_gguf.h"
#include "mpct_io.h"
#include "opt.h"
#include "tool_common.h"

int mpct_cmd_pack(int argc, char **argv);

static const mpct_opt pack_opts[] = {
    {"output", 'o', "FILE", "the model file to write (required)"},
    {"bits", 0, "N", "8, 16 or 32 (default 16)"},
    {"compress", 0, NULL, "HDF5 shuffle + deflate filters on every dataset"},
    {"head", 0, "FILE", "classification head: a safetensors file with\n"
                        "classifier.weight [labels x hidden] (or weight) and\n"
                        "classifier.bias (or bias); __metadata__ \"labels\" may\n"
                        "hold comma-separated label names"},
    {"gguf-to-hf", 0, "DIR", "with a MODEL.gguf: only convert it into the Hugging Face\n"
                             "directory DIR (config.json, model.safetensors, tokenizer.json,\n"
                             "tokenizer_config.json); no -o"},
    {"synthetic", 0, "KIND", "write the deterministic CI test model instead; KIND tiny:\n"
                             "2 layers, hidden 32, 4 heads, ffn 64, max_positions 64"},
    {"vocab", 0, "FILE", "vocab.txt for --synthetic (default: a small generated one)"},
    {"labels", 0, "N", "classification head with N labels for --synthetic"},
    {"seed", 0, "S", "seed for --synthetic (default 1)"},
};

static const mpct_opt_cmd pack_cmd = {
    .name = "pack",
    .usage = "mpct pack [options] MODEL_DIR -o OUT.h5\n"
             "mpct pack [options] MODEL.gguf -o OUT.h5\n"
             "mpct pack --gguf-to-hf DIR MODEL.gguf\n"
             "mpct pack --synthetic tiny -o OUT.h5 [--bits 8|16|32] [--compress] [--vocab vocab.txt]\n"
             "          [--labels N] [--seed S]",
    .about = "Converts a Hugging Face model directory (encoders BERT, DistilBERT, RoBERTa, XLM-R;\n"
             "decoders GPT-2, LLaMA: config.json,\n"
             "model.safetensors or its shards; sentence-transformers modules.json and 1_Pooling/\n"
             "when present) into an mpct HDF5 model. The tokenizer stored in the model is the\n"
             "checkpoint's tokenizer.json when it has one (WordPiece, byte-level BPE or Unigram,\n"
             "with its normalizers and special tokens), else vocab.txt (WordPiece, casing from\n"
             "tokenizer_config.json); a RoBERTa or XLM-R checkpoint with neither takes token ids\n"
             "only. Weight matrices and embedding tables are quantized symmetrically per output\n"
             "row to --bits (32 keeps float32); biases and LayerNorm parameters stay float32.\n"
             "A GGUF file (architecture llama; tensors F32, F16, BF16, Q8_0, Q4_0, Q4_1) is\n"
             "dequantized into a temporary Hugging Face directory next to OUT.h5, packed from\n"
             "there and the directory removed (io/GGUF.md).\n",
    MPCT_OPT_TABLE(pack_opts),
    .exit_fail = "bad input: an unreadable or malformed model directory, head or vocabulary,\n"
                 "or an unwritable output (the message names the file and the problem)",
    .exit_usage = "bad usage, or a model the packer refuses (an argument it cannot take)",
};

/* A regular file named *.gguf, or one that starts with "GGUF". */
static int is_gguf(const char *path)
{
    const size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) return 1;
    FILE *fp = fopen(path, "rb");
    char m[4] = {0};
    const int yes = fp && fread(m, 1, 4, fp) == 4 && memcmp(m, "GGUF", 4) == 0;
    if (fp) fclose(fp);
    return yes;
}

static int pack_gguf_to_hf(const char *dir, const char *gguf, int other)
{
    if (!gguf || other) {
        fprintf(stderr, "mpct pack: error: --gguf-to-hf DIR takes one MODEL.gguf and no -o, --synthetic or --head "
                        "(see mpct pack --help)\n");
        return 2;
    }
    mpct_gguf_convert_info info;
    mpct_status st = mpct_gguf_to_hf(gguf, dir, stdout, &info);
    if (st != MPCT_OK) {
        mpct_sched_error("pack", st);
        return st == MPCT_ERR_ARG ? 2 : 1;
    }
    printf("wrote %s\n", dir);
    return 0;
}

int mpct_cmd_pack(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *head = NULL, *synth = NULL, *vocab = NULL, *to_hf = NULL;
    long bits = 16, labels = 0, seed = 1;
    int compress = 0;
    mpct_opt_iter it = mpct_opt_start(&pack_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        const char *v = it.value;
        if (!it.opt) {
            if (mpct_opt_positional(&it, &dir))
                return 2;
        } else if (mpct_opt_take(&it, "output", &out) || mpct_opt_take(&it, "head", &head) ||
                   mpct_opt_take(&it, "synthetic", &synth) || mpct_opt_take(&it, "vocab", &vocab) ||
                   mpct_opt_take(&it, "gguf-to-hf", &to_hf)) {
            continue;
        } else if (mpct_opt_is(&it, "bits")) {
            if (mpct_tool_parse_long("pack", it.spelled, v, 8, 32, &bits))
                return 2;
            if (bits != 8 && bits != 16 && bits != 32) {
                fprintf(stderr, "mpct pack: error: --bits %ld: expected 8, 16 or 32\n", bits);
                return 2;
            }
        } else if (mpct_opt_is(&it, "compress")) {
            compress = 1;
        } else if (mpct_opt_is(&it, "labels")) {
            if (mpct_tool_parse_long("pack", it.spelled, v, 0, MPCT_IO_MAX_LABELS, &labels))
                return 2;
        } else if (mpct_opt_is(&it, "seed")) {
            if (mpct_tool_parse_long("pack", it.spelled, v, 0, 0x7fffffffL, &seed))
                return 2;
        }
    }
    if (rc >= 0)
        return rc;
    if (to_hf) return pack_gguf_to_hf(to_hf, dir, out || synth || head);
    if (!out || (!dir && !synth) || (dir && synth)) {
        fprintf(stderr, "mpct pack: error: give MODEL_DIR or --synthetic KIND, and -o OUT.h5 (see mpct pack --help)\n");
        return 2;
    }
    mpct_status st;
    if (synth) {
        st = mpct_io_write_synthetic(out, synth, vocab, (int)labels, (int)bits, compress, (uint64_t)seed, stdout);
    } else {
        mpct_io_pack_opts o = {(int)bits, compress, head, stdout};
        st = is_gguf(dir) ? mpct_gguf_pack(dir, out, &o) : mpct_io_pack_hf(dir, out, &o);
    }
    if (st != MPCT_OK) {
        mpct_sched_error("pack", st);
        return st == MPCT_ERR_ARG ? 2 : 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
