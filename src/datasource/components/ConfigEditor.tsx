import React from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, SecretInput } from '@grafana/ui';
import type { FaultlineOptions, FaultlineSecureOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<FaultlineOptions, FaultlineSecureOptions>;

/** Exporter URLs are stored without a trailing slash: plugin.json routes append /api/v1. */
export const normalizeUrl = (url: string): string => url.trim().replace(/\/+$/, '');

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = (options.secureJsonData ?? {}) as FaultlineSecureOptions;
  const setJson = (patch: Partial<FaultlineOptions>) => onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  const url = options.url ?? '';
  const urlInvalid = url !== '' && !/^https?:\/\/[^\s/]+/.test(url);
  return (
    <div data-testid="faultline-config-editor">
      <FieldSet label="Faultline exporter">
        <Field
          label="Exporter URL"
          description="As Grafana's server reaches it; requests go through Grafana's data source proxy, never from the browser."
          invalid={urlInvalid}
          error={urlInvalid ? 'Use an http:// or https:// URL, e.g. http://faultline:9470' : undefined}
          required
        >
          <Input
            id="faultline-config-url"
            width={48}
            value={url}
            placeholder="http://faultline:9470"
            onChange={(e) => onOptionsChange({ ...options, url: e.currentTarget.value })}
            onBlur={(e) => onOptionsChange({ ...options, url: normalizeUrl(e.currentTarget.value), access: 'proxy' })}
          />
        </Field>
        <Field
          label="API token"
          description="A faultline token (viewer, operator or admin). Stored encrypted; the proxy adds it as a bearer token and it never reaches the browser."
        >
          <SecretInput
            id="faultline-config-token"
            width={48}
            isConfigured={Boolean(secureJsonFields?.apiToken)}
            value={secureJsonData.apiToken ?? ''}
            placeholder="token"
            onChange={(e) => onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiToken: e.currentTarget.value } })}
            onReset={() =>
              onOptionsChange({
                ...options,
                secureJsonFields: { ...secureJsonFields, apiToken: false },
                secureJsonData: { ...secureJsonData, apiToken: '' },
              })
            }
          />
        </Field>
        <Field label="Default namespace" description="Used when a query leaves the namespace empty. Empty: all namespaces.">
          <Input
            id="faultline-config-namespace"
            width={32}
            value={jsonData.defaultNamespace ?? ''}
            placeholder="all namespaces"
            onChange={(e) => setJson({ defaultNamespace: e.currentTarget.value.trim() })}
          />
        </Field>
      </FieldSet>
      <FieldSet label="Who can do what">
        <p>
          Viewers read experiments, events and annotations. Launching, pausing, stopping and deleting (POST and DELETE through the proxy) need the
          Editor role in Grafana, and the token&apos;s own role on the exporter (operator or admin).
        </p>
      </FieldSet>
    </div>
  );
}
