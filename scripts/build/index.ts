/** `portico build`: one artifact per platform from the one core. */
export { runBuild, readBuildMarker, RECIPES, BUILD_MARKER } from './run-build.ts';
export { TARGETS, isTargetName } from './types.ts';
export type { BuildOptions, BuildResult, ArtifactFile, TargetName } from './types.ts';
export { SIZE_BUDGETS } from './budgets.ts';
