# Kbuild's own reading of every directory makefile of one configuration.
#
# The kernel's top Makefile runs this file in place of scripts/Makefile.build
# (the harness passes `build=-f .../walk.mk obj` and the goal scripts_basic),
# so it sees exactly the environment a build sees: include/config/auto.conf,
# the arch Makefile's exports (BITS, KBUILD_CFLAGS, ...), CC for cc-option.
# Starting from `.` with need-builtin=1 need-modorder=1, as the top Makefile
# does, it reads each directory as scripts/Makefile.build does (resets the
# same lists, includes Kbuild.include, Makefile.compiler, the directory's
# Kbuild or Makefile, then scripts/Makefile.lib) and prints what make
# computed: real-obj-y, real-obj-m, lib-y, extra-y, always-y, targets and
# subdir-ym. It descends into subdir-ym with need-builtin and need-modorder
# given exactly as Makefile.build's $(subdir-ym) rule gives them.
#
# One make process reads all directories (a process per directory costs
# about 50 ms, a minute per configuration): between directories every
# variable a directory defined is undefined again, and the flags that
# scripts/Makefile.lib appends to (KBUILD_CFLAGS, ...) are restored.
# Nothing is compiled; the only commands run are the compiler probes
# (cc-option and friends) that directory makefiles call, as make would.

# With KWHEN_DRY="dir:need-builtin:need-modorder ...", no walk: make -n
# of Makefile.build on each of these directories instead, for the objects
# that are built by rules of their own (the vDSO's objects, a nested
# $(build)= such as arch/x86/realmode/rm) rather than from the obj lists.
kwhen-walk:
ifdef KWHEN_DRY
	+$(foreach t,$(KWHEN_DRY),$(MAKE) -n -f $(srctree)/scripts/Makefile.build \
		build='-f $$(srctree)/scripts/Makefile.build obj' \
		obj=$(word 1,$(subst :, ,$(t))) \
		need-builtin=$(filter 1,$(word 2,$(subst :, ,$(t)))) \
		need-modorder=$(filter 1,$(word 3,$(subst :, ,$(t)))) || true;)
else
	@:
endif

-include include/config/auto.conf
include $(srctree)/scripts/Kbuild.include
include $(srctree)/scripts/Makefile.compiler

kwhen-reset := obj-y obj-m lib-y lib-m always-y always-m targets subdir-y subdir-m \
	EXTRA_AFLAGS EXTRA_CFLAGS EXTRA_CPPFLAGS EXTRA_LDFLAGS asflags-y ccflags-y \
	rustflags-y cppflags-y ldflags-y subdir-asflags-y subdir-ccflags-y
kwhen-appended := KBUILD_AFLAGS KBUILD_CFLAGS KBUILD_RUSTFLAGS
$(foreach v,$(kwhen-appended),$(eval kwhen.top.$(v) := $$($(v))))

kwhen-file = $(or $(wildcard $(srctree)/$(1)/Kbuild),$(wildcard $(srctree)/$(1)/Makefile))

# $(1) directory, $(2) need-builtin, $(3) need-modorder
kwhen-visit = $(call kwhen-read,$(1),$(2),$(3))$(call kwhen-next,$(1))

define kwhen-read
$(eval override obj := $(1))
$(eval src := $(1))
$(eval need-builtin := $(2))
$(eval need-modorder := $(3))
$(foreach v,$(kwhen-reset),$(eval $(v) :=))
$(foreach v,$(kwhen-appended),$(eval $(v) := $$(kwhen.top.$(v))))
$(if $(call kwhen-file,$(1)),\
  $(eval include $(call kwhen-file,$(1)))\
  $(eval include $(srctree)/scripts/Makefile.lib)\
  $(info KWHEN-DIR $(1) $(if $(2),1,0) $(if $(3),1,0))\
  $(info KWHEN $(1) real-obj-y $(real-obj-y))\
  $(info KWHEN $(1) real-obj-m $(real-obj-m))\
  $(info KWHEN $(1) lib-y $(lib-y))\
  $(info KWHEN $(1) extra-y $(extra-y))\
  $(info KWHEN $(1) always-y $(always-y))\
  $(info KWHEN $(1) targets $(targets))\
  $(info KWHEN $(1) subdir-ym $(subdir-ym))\
  $(eval kwhen.next.$(1) := $(foreach s,$(subdir-ym),$(s):$(if $(filter $(s)/built-in.a,$(real-obj-y)),1,0):$(if $(filter $(s)/modules.order,$(obj-m)),1,0))),\
  $(info KWHEN-MISSING $(1))\
  $(eval kwhen.next.$(1) :=))
$(foreach v,$(filter-out $(kwhen-base) kwhen.% 1 2 3,$(.VARIABLES)),$(eval undefine $(v)))
endef

kwhen-flag = $(if $(filter 1,$(1)),1)
define kwhen-next
$(foreach t,$(kwhen.next.$(1)),$(call kwhen-visit,$(word 1,$(subst :, ,$(t))),$(call kwhen-flag,$(word 2,$(subst :, ,$(t)))),$(call kwhen-flag,$(word 3,$(subst :, ,$(t))))))
endef

ifndef KWHEN_DRY
kwhen-base := $(.VARIABLES) kwhen-base
$(call kwhen-visit,.,1,1)
endif


.DEFAULT_GOAL := kwhen-walk
