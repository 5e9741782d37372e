/*
 * cmd_pack.c — `mpct pack`: convert a Hugging Face BERT directory to an mpct
 * HDF5 model (io/FORMAT.md), or write a synthetic test model.
 *
 * MPCT_COMMAND(pack, 0, "convert a Hugging Face model directory to an mpct HDF5 model")
 *
 * Prints one line per tensor (quantization: max abs and max relative error),
 * the compression ratio against the float32 safetensors and, with
 * --compress, what the HDF5 shuffle+deflate filters saved.
 * Exit status: 0 success, 1 bad input (the message names the file and the
 * problem), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_io.h"
#include "tool_common.h"

int mpct_cmd_pack(int argc, char **argv);

static void pack_usage(FILE *f)
{
    fprintf(f,
            "usage: mpct pack MODEL_DIR -o OUT.h5 [--bits 8|16|32] [--compress] [--head HEAD.safetensors]\n"
            "       mpct pack --synthetic tiny -o OUT.h5 [--bits 8|16|32] [--compress] [--vocab vocab.txt]\n"
            "                 [--labels N] [--seed S]\n"
            "\n"
            "Converts a Hugging Face BERT model directory (config.json, model.safetensors,\n"
            "vocab.txt; sentence-transformers modules.json and 1_Pooling/ when present)\n"
            "into an mpct HDF5 model. Weight matrices and embedding tables are quantized\n"
            "symmetrically per output row to --bits (32 keeps float32); biases and\n"
            "LayerNorm parameters stay float32.\n"
            "\n"
            "  -o, --output FILE   the model file to write (required)\n"
            "  --bits N            8, 16 or 32 (default 16)\n"
            "  --compress          HDF5 shuffle + deflate filters on every dataset\n"
            "  --head FILE         classification head: a safetensors file with\n"
            "                      classifier.weight [labels x hidden] (or weight) and\n"
            "                      classifier.bias (or bias); __metadata__ \"labels\" may\n"
            "                      hold comma-separated label names\n"
            "  --synthetic tiny    write the deterministic CI test model instead (2 layers,\n"
            "                      hidden 32, 4 heads, ffn 64, max_positions 64)\n"
            "  --vocab FILE        vocab.txt for --synthetic (default: a small generated one)\n"
            "  --labels N          classification head with N labels for --synthetic\n"
            "  --seed S            seed for --synthetic (default 1)\n"
            "  --help              show this help\n"
            "\n"
            "Exit status: 0 success, 1 bad input, 2 bad usage.\n");
}

int mpct_cmd_pack(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *head = NULL, *synth = NULL, *vocab = NULL;
    long bits = 16, labels = 0, seed = 1;
    int compress = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            pack_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!next) goto missing;
            out = argv[++i];
        } else if (!strcmp(a, "--bits")) {
            if (mpct_tool_parse_long("pack", a, next, 8, 32, &bits)) return 2;
            i++;
            if (bits != 8 && bits != 16 && bits != 32) {
                fprintf(stderr, "mpct pack: error: --bits %ld: expected 8, 16 or 32\n", bits);
                return 2;
            }
        } else if (!strcmp(a, "--compress")) {
            compress = 1;
        } else if (!strcmp(a, "--head")) {
            if (!next) goto missing;
            head = argv[++i];
        } else if (!strcmp(a, "--synthetic")) {
            if (!next) goto missing;
            synth = argv[++i];
        } else if (!strcmp(a, "--vocab")) {
            if (!next) goto missing;
            vocab = argv[++i];
        } else if (!strcmp(a, "--labels")) {
            if (mpct_tool_parse_long("pack", a, next, 0, MPCT_IO_MAX_LABELS, &labels)) return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (mpct_tool_parse_long("pack", a, next, 0, 0x7fffffffL, &seed)) return 2;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "mpct pack: error: unknown option '%s' (see mpct pack --help)\n", a);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "mpct pack: error: unexpected argument '%s' (see mpct pack --help)\n", a);
            return 2;
        }
        continue;
    missing:
        fprintf(stderr, "mpct pack: error: option %s needs a value (see mpct pack --help)\n", a);
        return 2;
    }
    if (!out || (!dir && !synth) || (dir && synth)) {
        fprintf(stderr, "mpct pack: error: give MODEL_DIR or --synthetic KIND, and -o OUT.h5 (see mpct pack --help)\n");
        return 2;
    }
    mpct_status st;
    if (synth) {
        st = mpct_io_write_synthetic(out, synth, vocab, (int)labels, (int)bits, compress, (uint64_t)seed, stdout);
    } else {
        mpct_io_pack_opts o = {(int)bits, compress, head, stdout};
        st = mpct_io_pack_hf(dir, out, &o);
    }
    if (st != MPCT_OK) {
        mpct_tool_error("pack", st);
        return st == MPCT_ERR_ARG ? 2 : 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
