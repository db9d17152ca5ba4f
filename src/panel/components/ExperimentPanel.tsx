import React from 'react';
import type { PanelProps } from '@grafana/data';
import type { PanelOptions } from '../types';

export function ExperimentPanel({ width, height }: PanelProps<PanelOptions>) {
  return <div style={{ width, height }}>Faultline experiments</div>;
}
