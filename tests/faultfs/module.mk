# tests/faultfs: FUSE passthrough that fails I/O on command (test tool).
FAULTFS_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null)
FAULTFS_LIBS   = $(shell pkg-config --libs fuse3 2>/dev/null)
TESTS += $(BUILD)/tests/faultfs

$(BUILD)/tests/faultfs: tests/faultfs/faultfs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FAULTFS_CFLAGS) $< $(LDFLAGS) $(FAULTFS_LIBS) -o $@
