/** The transport's one abortable clock. */
export { systemClock } from '@cadmap/transport';
export type { Clock } from '@cadmap/transport';
