/** The documented MESH environments (mesh.md §3). */
export type MeshEnvironmentName = 'integration' | 'production' | 'deployment';

export const meshEnvironments: Readonly<Record<MeshEnvironmentName, string>> = {
  integration: 'https://msg.intspineservices.nhs.uk',
  production: 'https://mesh-sync.spineservices.nhs.uk',
  deployment: 'https://msg.depspineservices.nhs.uk',
};

export const isMeshEnvironmentName = (value: string): value is MeshEnvironmentName => Object.hasOwn(meshEnvironments, value);

/** A preset name or an explicit base URL (e.g. the local sandbox). */
export function resolveBaseUrl(environment: string): string {
  return (isMeshEnvironmentName(environment) ? meshEnvironments[environment] : environment).replace(/\/+$/, '');
}
