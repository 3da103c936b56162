"""cc_toolchain_config for the Debian mingw-w64 cross compilers (x86_64 and i686, posix threads).

Only the flags that differ from Bazel's defaults are spelled out here. The toolchain
does not declare `no_legacy_features`, so Bazel adds its legacy features on top
(user_compile_flags for --copt/copts, user_link_flags for linkopts,
libraries_to_link, ...): --copt, copts, linkopts and -lpthread work as usual.
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "artifact_name_pattern",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")

_COMPILE_ACTIONS = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.linkstamp_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.lto_backend,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(actions, flags):
    return flag_set(actions = actions, flag_groups = [flag_group(flags = flags)])

def _impl(ctx):
    prefix = ctx.attr.tool_prefix
    tool_paths = [
        # The -posix variants use the winpthreads thread model, so that C11/pthread
        # code and libgcc agree on one threading library.
        tool_path(name = "gcc", path = prefix + "gcc-posix"),
        tool_path(name = "cpp", path = prefix + "cpp-posix"),
        tool_path(name = "gcov", path = prefix + "gcov-posix"),
        tool_path(name = "ar", path = prefix + "ar"),
        tool_path(name = "ld", path = prefix + "ld"),
        tool_path(name = "nm", path = prefix + "nm"),
        tool_path(name = "objcopy", path = prefix + "objcopy"),
        tool_path(name = "objdump", path = prefix + "objdump"),
        tool_path(name = "strip", path = prefix + "strip"),
        # No split DWARF for PE targets.
        tool_path(name = "dwp", path = "/bin/false"),
    ]

    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [_flags(_COMPILE_ACTIONS, [
                # Keep header paths as written, so that they match
                # cxx_builtin_include_directories in Bazel's inclusion check.
                "-no-canonical-prefixes",
                "-fno-canonical-system-headers",
                # Reproducible outputs.
                "-Wno-builtin-macro-redefined",
                "-D__DATE__=\"redacted\"",
                "-D__TIMESTAMP__=\"redacted\"",
                "-D__TIME__=\"redacted\"",
            ])],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [_flags(_LINK_ACTIONS, [
                "-no-canonical-prefixes",
                # Self-contained .exe files: no libgcc/libwinpthread DLLs to ship
                # next to each test binary (Wine would not find them in runfiles).
                "-static",
                "-static-libgcc",
            ])],
        ),
        # Bazel enables the feature named after --compilation_mode if it exists.
        feature(name = "fastbuild"),
        feature(
            name = "dbg",
            flag_sets = [_flags(_COMPILE_ACTIONS, ["-g", "-O0"])],
        ),
        feature(
            name = "opt",
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-O2",
                    "-DNDEBUG",
                    "-g0",
                    "-ffunction-sections",
                    "-fdata-sections",
                ]),
                _flags(_LINK_ACTIONS, ["-Wl,--gc-sections"]),
            ],
        ),
        # Not declared on purpose: supports_dynamic_linker (every test links
        # statically, no per-library DLLs) and supports_pic (no PIC on PE).
    ]

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        artifact_name_patterns = [
            artifact_name_pattern(category_name = "executable", prefix = "", extension = ".exe"),
            artifact_name_pattern(category_name = "dynamic_library", prefix = "", extension = ".dll"),
        ],
        cxx_builtin_include_directories = ctx.attr.builtin_include_dirs,
        toolchain_identifier = "mingw-w64-%s-posix" % ctx.attr.target_system_name.split("-")[0],
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = "mingw",
        compiler = "mingw-gcc",
        abi_version = "unknown",
        abi_libc_version = "unknown",
        tool_paths = tool_paths,
    )

mingw_toolchain_config = rule(
    implementation = _impl,
    # The defaults are the x86_64 compiler's; BUILD.bazel sets all four for i686.
    attrs = {
        "tool_prefix": attr.string(default = "/usr/bin/x86_64-w64-mingw32-"),
        "builtin_include_dirs": attr.string_list(default = [
            "/usr/lib/gcc/x86_64-w64-mingw32",
            "/usr/x86_64-w64-mingw32/include",
            "/usr/share/mingw-w64/include",
        ]),
        "target_system_name": attr.string(default = "x86_64-w64-mingw32"),
        # Informational only (toolchain resolution uses the platform's
        # constraints): x64_windows as in Bazel's own Windows toolchains.
        "target_cpu": attr.string(default = "x64_windows"),
    },
    provides = [CcToolchainConfigInfo],
)
