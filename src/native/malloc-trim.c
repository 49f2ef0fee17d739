/*
 * A Node-API addon with one function, trim(): glibc's malloc_trim(0), which hands every whole free
 * page the C allocator holds, in the middle of its heaps as well as at the top, back to the system.
 *
 * Why: glibc returns memory on free() only from the top of a heap. The native allocations of a
 * burst of work (socket read buffers, TLS records, V8's compiler zones) leave free pages between
 * live chunks that stay resident for the life of the process: restarted on 1,000 ElasticWebs and
 * settled, glibc's main heap was 16.1 MiB resident, and malloc_trim(0) (called through gdb) took it
 * to 8.0 and the whole process from 80.2 to 71.5 MiB (src/runtime/memory/idle-release.ts calls it
 * after each memory-reducing collection; bench/README.md has the measurements). Node offers no way
 * to call it, hence this file.
 *
 * With another C library (musl) trim() does nothing and returns false; off Linux the build
 * (hack/build/native.ts) skips it.
 */
#include <node_api.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  if (napi_get_boolean(env, released == 1, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
