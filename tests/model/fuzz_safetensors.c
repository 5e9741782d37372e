/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader.
 *
 * Parses the input as a whole safetensors file from memory (an exact-size
 * copy, so ASan sees any read past the end) and, when it parses, converts
 * every tensor of up to 4096 elements to double. Build with clang:
 *   CC=clang cmake -S . -B build-fuzz -DMPCT_FUZZ=ON && cmake --build build-fuzz --target fuzz_safetensors
 *   build-fuzz/tests/model/fuzz_safetensors -max_total_time=60 -max_len=4096 CORPUS_DIR
 */
#include <stdlib.h>
#include <string.h>

#include "mpct_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    mpct_st_file *f = NULL;
    if (mpct_st_open_mem(copy, size, "fuzz", &f) == MPCT_OK) {
        static double v[4096];
        for (size_t i = 0; i < mpct_st_count(f); i++) {
            const mpct_st_tensor *t = mpct_st_at(f, i);
            if (t->numel <= 4096 && mpct_st_read_f64(f, t, v, (size_t)t->numel) != MPCT_OK) abort();
        }
        (void)mpct_st_metadata(f, "format");
        mpct_st_close(f);
    }
    free(copy);
    return 0;
}
