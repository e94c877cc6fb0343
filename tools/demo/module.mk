# tools/demo: `make demo` - installs what is missing, builds, and runs the
# main job on the emulated Xen host (tools/demo/demo.sh).
.PHONY: demo
demo:
	$(MAKE) deps
	$(MAKE) all
	tools/demo/demo.sh $(BUILD)
