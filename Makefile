# ngx_grapevine: build, run and test.  See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := build

NGX_SRC ?= /usr/share/nginx/src
NGINX   ?= /usr/sbin/nginx
PORT    ?= 8080
PROVE_ARGS ?= -r t/

BUILD   := $(CURDIR)/build
MODULE  := build/ngx_http_grapevine_module.so

# the parts built into the .so (config): make GRAPEVINE_PARTS="backbone api
# site" leaves Raisin out; a change of parts configures again
GRAPEVINE_PARTS ?= backbone api site raisin
export GRAPEVINE_PARTS
$(shell mkdir -p build && \
        [ "$$(cat build/parts 2>/dev/null)" = "$(GRAPEVINE_PARTS)" ] \
        || echo "$(GRAPEVINE_PARTS)" > build/parts)

# Debian's recipe for libnginx-mod-* (Debhelper's nginx_mod build system)
CC_OPT   = $(shell dpkg-buildflags --get CFLAGS) -fPIC \
           $(shell dpkg-buildflags --get CPPFLAGS)
LD_OPT   = $(shell dpkg-buildflags --get LDFLAGS) -fPIC

UNIT_BINS :=
UNIT_CFLAGS ?= -std=gnu99 -O1 -g -W -Wall -Wpointer-arith \
               -Wno-unused-parameter -Werror -It/unit

-include mk/*.mk

.PHONY: build deps configure lint unit test run migrate admin bench fuzz \
        fuzz-deps clean deb

deps:
	@util/deps

# config compiles in the checksum of sql/: an edited, added or removed file
# configures again (the stamp changes only with the checksum)
build/sql.checksum: FORCE
	@mkdir -p build
	@util/sql-checksum sql > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

.PHONY: FORCE
FORCE:

build/nginx/Makefile: config build/parts build/sql.checksum
	@$(MAKE) --no-print-directory deps
	@mkdir -p build
	cd $(NGX_SRC) && . ./conf_flags && ./configure \
	    --with-cc-opt="$(CC_OPT)" --with-ld-opt="$(LD_OPT)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) --builddir=$(BUILD)/nginx \
	    > $(BUILD)/configure.log || { cat $(BUILD)/configure.log; exit 1; }

configure: build/nginx/Makefile

build: build/nginx/Makefile
	@$(MAKE) --no-print-directory -f $(BUILD)/nginx/Makefile \
	    -C $(NGX_SRC) modules
	@# a new file, renamed into place: running nginx processes keep the
	@# copy they mapped (overwriting it in place crashes their workers)
	@cmp -s build/nginx/ngx_http_grapevine_module.so $(MODULE) \
	    || { cp -p build/nginx/ngx_http_grapevine_module.so $(MODULE).new \
	         && mv -f $(MODULE).new $(MODULE); }
	@printf 'load_module %s;\nevents {}\n' $(BUILD)/$(notdir $(MODULE)) \
	    > build/load-test.conf
	@$(NGINX) -q -t -p $(BUILD) -c $(BUILD)/load-test.conf \
	    -g 'error_log stderr; pid /dev/null;'

unit: $(UNIT_BINS)

lint:
	@util/lint

migrate: deps
	@util/dev migrate

run: deps build
	@util/dev run $(PORT)

# the first admin of Raisin, on the development cluster: make admin NAME=alice
admin: deps
	@util/dev admin "$(NAME)"

test: deps build unit lint
	@util/test-env prove $(PROVE_ARGS)

bench: deps build
	@util/bench

# the Debian package libnginx-mod-http-grapevine, into build/ (util/deb)
deb: deps
	@util/deb

# the libFuzzer target's recipe is in mk/protocol.mk
fuzz: fuzz-deps

fuzz-deps:
	@util/deps fuzz

clean:
	rm -rf build t/servroot*
