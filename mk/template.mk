# The template engine and the value tree: unit test binaries.
#
# Included from the top Makefile, or on its own from the repository root:
#     make -f mk/template.mk build/unit/test_template
#     make -f mk/template.mk                    (both test binaries)
#     make -f mk/template.mk template-valgrind  (both, under valgrind)
#     make -f mk/template.mk template-bench     (rendering time of a page)

TEMPLATE_MK_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),yes)
TEMPLATE_MK_SAVED_GOAL := $(.DEFAULT_GOAL)

UNIT_CFLAGS ?= -std=gnu99 -O1 -g -W -Wall -Wpointer-arith \
               -Wno-unused-parameter -Werror -It/unit
TEMPLATE_VALGRIND ?= valgrind --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=all --show-leak-kinds=all -q
GRAPEVINE_MUSTACHE_SPEC ?= t/unit/mustache-spec

TEMPLATE_SRCS = src/core/ngx_grapevine_value.c \
                src/core/ngx_grapevine_template.c
TEMPLATE_DEPS = $(TEMPLATE_SRCS) \
                src/core/ngx_grapevine_arena.h \
                src/core/ngx_grapevine_value.h \
                src/core/ngx_grapevine_template.h \
                t/unit/tap_template.h \
                mk/template.mk
TEMPLATE_SPECS = comments interpolation sections inverted partials delimiters \
                 ~inheritance
TEMPLATE_SPEC_FILES = $(addprefix $(GRAPEVINE_MUSTACHE_SPEC)/, \
                                  $(addsuffix .json,$(TEMPLATE_SPECS)))

UNIT_BINS += build/unit/test_mustache_spec build/unit/test_template \
             build/unit/bench_template

build/unit/test_mustache_spec: t/unit/test_mustache_spec.c $(TEMPLATE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -Isrc/core -o $@ \
	    t/unit/test_mustache_spec.c $(TEMPLATE_SRCS) -lyajl

build/unit/test_template: t/unit/test_template.c $(TEMPLATE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -Isrc/core -o $@ \
	    t/unit/test_template.c $(TEMPLATE_SRCS) -lyajl

# -O2, as the module is built (dpkg-buildflags)
build/unit/bench_template: t/unit/bench_template.c $(TEMPLATE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -O2 -Isrc/core -o $@ \
	    t/unit/bench_template.c $(TEMPLATE_SRCS) -lyajl

.PHONY: template-unit template-valgrind template-bench

template-unit: build/unit/test_mustache_spec build/unit/test_template

template-valgrind: template-unit
	$(TEMPLATE_VALGRIND) build/unit/test_template > /dev/null
	set -e; for f in $(TEMPLATE_SPEC_FILES); do \
	    $(TEMPLATE_VALGRIND) build/unit/test_mustache_spec "$$f" > /dev/null; \
	done

template-bench: build/unit/bench_template
	build/unit/bench_template conf/templates games

# alone, build both binaries by default; included, leave the default goal
# to the including Makefile
ifeq ($(TEMPLATE_MK_STANDALONE),yes)
.DEFAULT_GOAL := template-unit
else
.DEFAULT_GOAL := $(TEMPLATE_MK_SAVED_GOAL)
endif
