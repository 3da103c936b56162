"""cc_toolchain_config for Linux compilers other than Bazel's auto-configured one.

Used for clang on x86_64 (--config=clang) and for the Debian aarch64-linux-gnu
cross gcc (--config=arm64); see BUILD.bazel. As in //tools/toolchains/mingw,
only the flags that differ from Bazel's defaults are spelled out, and Bazel's
legacy features (user_compile_flags for --copt/copts, user_link_flags for
linkopts, libraries_to_link, ...) come on top, so --copt, copts, linkopts and
the sanitizer configs work as usual.
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
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
    tools = ctx.attr.tools
    tool_paths = [
        tool_path(name = name, path = tools.get(name, ctx.attr.binutils_prefix + name))
        for name in ["gcc", "cpp", "gcov", "ar", "ld", "nm", "objcopy", "objdump", "strip"]
    ] + [
        tool_path(name = "dwp", path = "/bin/false"),  # no split DWARF
    ]

    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [_flags(_COMPILE_ACTIONS, [
                # Keep header paths as written, so that they match
                # cxx_builtin_include_directories in Bazel's inclusion check.
                "-no-canonical-prefixes",
                # Reproducible outputs.
                "-Wno-builtin-macro-redefined",
                "-D__DATE__=\"redacted\"",
                "-D__TIMESTAMP__=\"redacted\"",
                "-D__TIME__=\"redacted\"",
            ] + ctx.attr.compile_flags)],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [_flags(_LINK_ACTIONS, [
                "-no-canonical-prefixes",
                # The C++ test (headers_cxx11_test) links through the C driver.
                "-lstdc++",
                "-lm",
            ] + ctx.attr.link_flags)],
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
        # Not declared on purpose: supports_dynamic_linker (test binaries link
        # the project's libraries statically) and supports_pic (executables only).
    ]

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = ctx.attr.builtin_include_dirs,
        toolchain_identifier = ctx.attr.toolchain_identifier,
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = "glibc",
        compiler = ctx.attr.compiler,
        abi_version = "unknown",
        abi_libc_version = "unknown",
        tool_paths = tool_paths,
    )

linux_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        # binutils_prefix + name for every tool not in `tools`.
        "binutils_prefix": attr.string(mandatory = True),
        "tools": attr.string_dict(),
        "builtin_include_dirs": attr.string_list(mandatory = True),
        "compile_flags": attr.string_list(),
        "link_flags": attr.string_list(),
        "compiler": attr.string(mandatory = True),
        "toolchain_identifier": attr.string(mandatory = True),
        "target_system_name": attr.string(mandatory = True),
        # Informational (resolution uses the platform's constraints).
        "target_cpu": attr.string(mandatory = True),
    },
    provides = [CcToolchainConfigInfo],
)
