# The Gossip protocol layer (src/backbone/ngx_grapevine_protocol*.[ch]):
# its unit test and its libFuzzer target.  It links alone, with -lyajl.
#
# Included from the top Makefile, or on its own from the repository root:
#     make -f mk/protocol.mk                     (the unit test binary)
#     make -f mk/protocol.mk protocol-valgrind   (the unit test, valgrind)
#     make -f mk/protocol.mk fuzz FUZZ_SECONDS=300

PROTOCOL_MK_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),yes)
PROTOCOL_MK_SAVED_GOAL := $(.DEFAULT_GOAL)

CC ?= cc
UNIT_CFLAGS ?= -std=gnu99 -O1 -g -W -Wall -Wpointer-arith \
               -Wno-unused-parameter -Werror -It/unit
VALGRIND ?= valgrind --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=all --show-leak-kinds=all -q

FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -std=gnu99 -O1 -g -W -Wall -Wpointer-arith \
               -Wno-unused-parameter -Werror \
               -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=

PROTOCOL_SRCS = src/backbone/ngx_grapevine_protocol_schema.c \
                src/backbone/ngx_grapevine_protocol_text.c \
                src/backbone/ngx_grapevine_protocol_parse.c \
                src/backbone/ngx_grapevine_protocol_build.c \
                src/backbone/ngx_grapevine_protocol_records.c
PROTOCOL_DEPS = $(PROTOCOL_SRCS) \
                src/backbone/ngx_grapevine_protocol.h \
                src/backbone/ngx_grapevine_protocol_schema.h \
                src/core/ngx_grapevine_arena.h \
                mk/protocol.mk

UNIT_BINS += build/unit/test_protocol

build/unit/test_protocol: t/unit/test_protocol.c t/unit/tap.h $(PROTOCOL_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -Isrc/backbone -Isrc/core -o $@ \
	    t/unit/test_protocol.c $(PROTOCOL_SRCS) -lyajl

build/fuzz/fuzz_protocol: fuzz/fuzz_protocol.c $(PROTOCOL_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc/backbone -Isrc/core -o $@ \
	    fuzz/fuzz_protocol.c $(PROTOCOL_SRCS) -lyajl

.PHONY: protocol-unit protocol-valgrind

protocol-unit: build/unit/test_protocol

protocol-valgrind: build/unit/test_protocol
	$(VALGRIND) build/unit/test_protocol > /dev/null

# new inputs go to build/fuzz/corpus/protocol, the seeds stay as they are;
# crashes land in fuzz/corpus/protocol/crash-* (ignored by git)
fuzz: build/fuzz/fuzz_protocol
	@mkdir -p build/fuzz/corpus/protocol
	build/fuzz/fuzz_protocol -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -dict=fuzz/protocol.dict \
	    -artifact_prefix=fuzz/corpus/protocol/ $(FUZZ_ARGS) \
	    build/fuzz/corpus/protocol fuzz/corpus/protocol

ifeq ($(PROTOCOL_MK_STANDALONE),yes)
.DEFAULT_GOAL := protocol-unit
else
.DEFAULT_GOAL := $(PROTOCOL_MK_SAVED_GOAL)
endif
