# PGXS build of the extension: the core (src/core) and the glue (src/pg)
# linked into one shared library.
EXTENSION = recsys
MODULE_big = recsys
DATA = $(wildcard src/pg/recsys--*.sql)
OBJS = $(patsubst %.cpp,%.o,$(wildcard src/core/*.cpp src/pg/*.cpp))

# One pg_regress suite per feature: sql/<feature>.sql.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=.

# No LLVM bitcode for JIT inlining: it would need clang, and C++ gains nothing.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

PG_CXXFLAGS = -std=c++20 -O2 -fPIC -Wall -Wno-register -Wno-missing-field-initializers -Wno-psabi \
              -isystem /usr/include/eigen3 -Isrc/core -DEIGEN_NO_DEBUG
override CXXFLAGS := $(filter-out -Wmissing-prototypes -Wdeclaration-after-statement -Wimplicit-fallthrough=3 -Wcast-function-type -Wformat-security -fexcess-precision=standard,$(CXXFLAGS)) $(PG_CXXFLAGS)
SHLIB_LINK += -lstdc++ -lcrypto -pthread

# The core (no PostgreSQL header) is numeric code: -O3, as in the CMake
# build, where -O2 made BPR's SGD loop 2x slower.
src/core/%.o: override CXXFLAGS += -O3

# The AVX2 + FMA build of the dense kernels (src/core/dense.h), chosen at run
# time on CPUs that have them.
ifeq ($(shell uname -m),x86_64)
src/core/dense_avx2.o: override CXXFLAGS += -mavx2 -mfma
endif

# Rebuild objects when a header they include changes.
override CXXFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)
