#ifndef EMPORIUM_CSPAWN_SHIM_H
#define EMPORIUM_CSPAWN_SHIM_H

/// glibc (2.34 and later) has this file action, but declares it in <spawn.h> only under
/// _GNU_SOURCE, which Swift's Glibc module is not built with: the child closes every descriptor
/// from `from` up before its exec. `actions` is a `posix_spawn_file_actions_t *` (declared here
/// as `void *` so that this module does not define the libc types a second time).
extern int posix_spawn_file_actions_addclosefrom_np(void *actions, int from);
#endif
